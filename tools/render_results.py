"""Render ``results/*.json`` into the README's results table, plus one bar chart per lesson.

    python tools/render_results.py           # rewrite the README between the results markers, draw plots
    python tools/render_results.py --check   # exit 1 when the README's table is not what results/ gives

The table sits between ``<!-- results:start -->`` and ``<!-- results:end -->`` and is only ever
written by this tool (``make results``; ``make run`` ends with it). Each row: the notebook (linked),
where its data came from and how many rows, a few headline metrics, CPU minutes, the date and the
torch version of the run. Plots are PNGs in ``results/``, drawn where a picture compares models
better than numbers do; they depend only on the JSON files, so re-rendering gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"

# The few metrics the table shows per notebook (all of them for a notebook not listed here).
HEADLINES: dict[str, list[str]] = {
    "00_start_here": ["datasets_loaded"],
    "01_salary_prediction": ["val_mae_median", "val_mae_linear", "val_mae_seminar", "val_mae_best"],
    "02_baselines": ["test_f1_random_uniform", "test_f1_rules_stemmed", "test_f1_tf_idf_logistic_regression",
                     "test_f1_gru", "test_f1_minilm_frozen_head"],
    "03_collaborative_filtering": ["val_rmse", "u1_rmse", "mnist_valid_acc_1epoch"],
    "04_amazon_qa_homework": ["tfidf_lr_valid_accuracy", "dan_glove_tuned_valid_accuracy",
                              "bilstm_packed_onecycle_valid_accuracy", "cnn_residual_norm_valid_accuracy",
                              "lstm_lm_transfer_valid_accuracy", "ensemble_top3_valid_accuracy"],
    "05_polarity": ["test_acc_tfidf_lr", "test_acc_scratch", "test_acc_lm_finetune", "test_acc_minilm_frozen",
                    "test_acc_transformer"],
}

# Bar charts: notebook -> (metrics whose name matches this pattern; the match is cut from the label,
# axis label, title). A notebook not listed, or with fewer than two matching metrics, gets no plot.
PLOTS: dict[str, tuple[str, str, str]] = {
    "01_salary_prediction": (r"^val_mae_", "validation MAE (£), lower is better", "01 · salary prediction"),
    "02_baselines": (r"^test_f1_", "test F1 (weighted)", "02 · tagging baselines"),
    "03_collaborative_filtering": (r"^mnist_acc_1epoch_", "MNIST validation accuracy after one epoch",
                                   "03 · hand-written optimisers"),
    "04_amazon_qa_homework": (r"_valid_accuracy$", "validation accuracy", "04 · Amazon QA categories"),
    "05_polarity": (r"^test_acc_", "test accuracy (6,459 reviews)", "05 · review polarity"),
}


def load_records(folder: Path = RESULTS) -> list[dict]:
    """Every ``results/*.json``, sorted by notebook."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def number(value: float | int) -> str:
    """Integers with thousands separators, other numbers with 4 significant digits."""
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def headline(record: dict) -> str:
    """The notebook's headline metrics as ``name value`` pairs (all metrics when none is listed)."""
    metrics = record["metrics"]
    keys = [key for key in HEADLINES.get(record["notebook"], []) if key in metrics] or list(metrics)
    return "<br>".join(f"{key} {number(metrics[key])}" for key in keys)


def plot_metrics(record: dict) -> dict[str, float]:
    """The metrics a notebook's plot shows, label to value, or ``{}`` when it gets none."""
    if record["notebook"] not in PLOTS:
        return {}
    pattern = re.compile(PLOTS[record["notebook"]][0])
    bars = {pattern.sub(" ", key).strip(" _").replace("_", " "): float(value)
            for key, value in record["metrics"].items() if pattern.search(key)}
    return bars if len(bars) >= 2 else {}


def draw_plot(record: dict, folder: Path = RESULTS) -> Path | None:
    """Save the notebook's bar chart as ``<folder>/<notebook>.png``; ``None`` when it has no plot."""
    bars = plot_metrics(record)
    if not bars:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, xlabel, title = PLOTS[record["notebook"]]
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * len(bars) + 1.2), dpi=100)
    labels, values = list(bars), list(bars.values())
    ax.barh(labels[::-1], values[::-1], color="tab:blue")
    for y, value in enumerate(values[::-1]):
        ax.text(value, y, f" {number(value)}", va="center", fontsize=8)
    low, high = min(values), max(values)
    left = 0.0
    if low > 0.8 * high > 0:  # close scores: start the axis below the lowest bar, and say so
        left = round(low - 0.5 * (high - low) - 0.01, 2)
        xlabel = f"{xlabel} (axis starts at {left:g})"
    ax.set_xlim(left, high + 0.18 * (high - left))
    ax.set(xlabel=xlabel, title=f"{title} ({record['data']['source']}, {record['data']['rows']:,} rows)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    path = folder / f"{record['notebook']}.png"
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def table(records: list[dict]) -> str:
    """The Markdown table between the README's markers."""
    lines = [
        "| notebook | data | headline metrics | CPU min | date | torch | plot |",
        "|---|---|---|---:|---|---|---|",
    ]
    for record in records:
        name = record["notebook"]
        data = f"{record['data']['source']}, {record['data']['rows']:,} rows"
        plot = f"[plot](results/{name}.png)" if plot_metrics(record) else ""
        lines.append(f"| [{name}](notebooks/{name}.ipynb) | {data} | {headline(record)} | "
                     f"{record['runtime_seconds'] / 60:.1f} | {record['date']} | {record['torch']} | {plot} |")
    return "\n".join(lines)


def render_readme(readme: str, records: list[dict]) -> str:
    """``readme`` with the block between the results markers replaced by :func:`table`."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"README.md needs one {START} line followed by one {END} line")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    note = "<!-- generated by `make results` from results/*.json: do not edit by hand -->"
    return f"{head}{START}\n{note}\n\n{table(records)}\n\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's table is stale")
    args = parser.parse_args(argv)
    records = load_records()
    readme = README.read_text(encoding="utf-8")
    try:
        fresh = render_readme(readme, records)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if fresh != readme:
            print("README.md's results table is stale: run `make results`", file=sys.stderr)
            return 1
        return 0
    plots = [path for path in (draw_plot(record) for record in records) if path is not None]
    if fresh != readme:
        README.write_text(fresh, encoding="utf-8")
    print(table(records))
    print(f"README.md results table rendered from {len(records)} results; plots: "
          + (", ".join(path.name for path in plots) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
