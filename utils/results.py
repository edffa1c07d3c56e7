"""Each notebook's last cell records its headline numbers in ``results/<notebook>.json``."""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
RESULTS_DIR = CHECKOUT / "results"  # used when the package runs from a checkout (editable install)
RESULTS_ENV = "COURSE_RESULTS_DIR"  # tests point this elsewhere so they leave results/ untouched


def default_results_dir() -> Path:
    """Where results are written: ``$COURSE_RESULTS_DIR``; else ``results/`` of the checkout when
    ``utils`` runs from one; else (an installed copy, as on Colab) ``results/`` of the working directory."""
    value = os.environ.get(RESULTS_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    if (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "utils").is_dir():
        return RESULTS_DIR
    return Path.cwd() / "results"


def _rounded(value: float) -> float | int:
    """Integers stay integers; other numbers keep 4 decimals."""
    return int(value) if float(value).is_integer() and not isinstance(value, float) else round(float(value), 4)


def record_results(
    notebook: str,
    metrics: dict[str, float],
    data_rows: int,
    data_source: str,
    seconds: float,
    results_dir: Path | None = None,
) -> Path:
    """Write ``results/<notebook>.json`` and return its path.

    Args:
        notebook: notebook name without extension, e.g. ``"01_salary_prediction"``.
        metrics: headline figures, name to number (rounded to 4 decimals when written).
        data_rows: rows of data the notebook actually used.
        data_source: ``"mirror"`` or ``"download"`` (see :func:`utils.data_source`).
        seconds: wall-clock run time of the notebook.
    """
    import torch

    if data_source not in ("mirror", "download"):
        raise ValueError(f"data_source must be 'mirror' or 'download', not {data_source!r}")
    record = {
        "notebook": notebook,
        "data": {"source": data_source, "rows": int(data_rows)},
        "metrics": {name: _rounded(value) for name, value in metrics.items()},
        "runtime_seconds": round(float(seconds), 1),
        "date": date.today().isoformat(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    folder = Path(results_dir) if results_dir is not None else default_results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def load_results(results_dir: Path | None = None) -> list[dict]:
    """All recorded results, sorted by notebook name."""
    folder = Path(results_dir) if results_dir is not None else default_results_dir()
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def results_table(results_dir: Path | None = None) -> str:
    """A Markdown table: notebook, data source and rows, headline metrics, CPU minutes."""
    lines = [
        "| notebook | data | headline metrics | minutes |",
        "|---|---|---|---|",
    ]
    for record in load_results(results_dir):
        metrics = ", ".join(f"{name} {value:g}" for name, value in record["metrics"].items())
        data = f"{record['data']['source']}, {record['data']['rows']:,} rows"
        minutes = record["runtime_seconds"] / 60
        lines.append(f"| {record['notebook']} | {data} | {metrics} | {minutes:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(results_table())
