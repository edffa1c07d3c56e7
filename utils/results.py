"""Each notebook's last cell records its headline numbers in ``results/<notebook>.json``."""

from __future__ import annotations

import json
import math
import os
import platform
from datetime import date
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
RESULTS_DIR = CHECKOUT / "results"  # used when the package runs from a checkout (editable install)
RESULTS_ENV = "COURSE_RESULTS_DIR"  # tests point this elsewhere so they leave results/ untouched
SELECTED_ON = ("valid", "cv")  # where a lesson made its choices: a validation split, or cross-validation


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
    """Integers stay integers; other numbers keep 4 decimals, or 4 significant digits below 0.01 (p-values)."""
    if float(value).is_integer() and not isinstance(value, float):
        return int(value)
    value = float(value)
    return float(f"{value:.4g}") if 0 < abs(value) < 0.01 else round(value, 4)


def _rounded_intervals(intervals: dict[str, tuple[float, float]], metrics: dict[str, float | int]) -> dict:
    """``intervals`` rounded like the metrics, after checking each one names a metric and contains its value."""
    rounded = {}
    for name, bounds in intervals.items():
        if name not in metrics:
            raise ValueError(f"interval for {name!r}, which is not a metric (metrics: {', '.join(metrics) or 'none'})")
        try:
            low, high = bounds
            low, high = _rounded(low), _rounded(high)
        except (TypeError, ValueError):
            raise ValueError(f"interval for {name!r} must be [low, high], two numbers, not {bounds!r}") from None
        value = metrics[name]
        if not all(math.isfinite(x) for x in (low, high)) or not low <= value <= high:
            raise ValueError(f"interval for {name!r} must contain its value: low <= {value} <= high fails "
                             f"for [{low}, {high}]")
        rounded[name] = [low, high]
    return rounded


def record_results(
    notebook: str,
    metrics: dict[str, float],
    data_rows: int,
    data_source: str,
    seconds: float,
    *,
    intervals: dict[str, tuple[float, float]] | None = None,
    selected_on: str = "valid",
    headline: list[str] | None = None,
    results_dir: Path | None = None,
) -> Path:
    """Write ``results/<notebook>.json`` and return its path.

    Args:
        notebook: notebook name without extension, e.g. ``"01_salary_prediction"``.
        metrics: figures, name to number (rounded to 4 decimals when written, integers stay integers).
            Name model-quality metrics ``test_<metric>_<model>`` (held-out test rows) or
            ``valid_<metric>_<model>`` (validation rows): the README shows a notebook's ``test_``
            metrics as its headlines (its ``valid_`` ones when it has no ``test_`` one). Other figures
            (``train_seconds_<model>``, ``latency_ms_<model>``, ``parameters_<model>``...) are recorded too.
        data_rows: rows of data the notebook actually used.
        data_source: ``"mirror"`` or ``"download"`` (see :func:`utils.data_source`).
        seconds: wall-clock run time of the notebook.
        intervals: metric name to ``[low, high]``, its 95 % bootstrap (or across-seed) interval; each name
            must be a key of ``metrics`` and ``low <= metrics[name] <= high``. Rounded like the metrics.
        selected_on: where every choice (model, hyper-parameters, threshold, epochs) was made:
            ``"valid"`` (a validation split) or ``"cv"`` (cross-validation on the training rows).
        headline: the metrics the README table shows, when a lesson records many (default: every
            ``test_`` metric, else every ``valid_`` one). Each must be a metric, and a ``test_`` or
            ``valid_`` one must have an interval.
        results_dir: where to write; default :func:`default_results_dir`.

    Raises:
        ValueError: on a bad ``data_source`` or ``selected_on``, or an interval that names no metric,
            is not two numbers, or does not contain the metric's value.
    """
    import torch

    if data_source not in ("mirror", "download"):
        raise ValueError(f"data_source must be 'mirror' or 'download', not {data_source!r}")
    if selected_on not in SELECTED_ON:
        raise ValueError(f"selected_on must be 'valid' or 'cv', not {selected_on!r}")
    rounded = {name: _rounded(value) for name, value in metrics.items()}
    for name in headline or []:
        if name not in rounded:
            raise ValueError(f"headline metric {name!r} is not a metric")
        if name.startswith(("test_", "valid_")) and name not in (intervals or {}):
            raise ValueError(f"headline metric {name!r} has no interval")
    record = {
        "notebook": notebook,
        "data": {"source": data_source, "rows": int(data_rows)},
        "metrics": rounded,
        "intervals": _rounded_intervals(dict(intervals or {}), rounded),
        "selected_on": selected_on,
        **({"headline": list(headline)} if headline else {}),
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

