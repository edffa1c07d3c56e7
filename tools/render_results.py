"""Render ``results/*.json`` into the README's results table, plus one bar chart per lesson.

    python tools/render_results.py           # rewrite the README between the results markers, draw plots
    python tools/render_results.py --check   # exit 1 when the README's table is not what results/ gives

The table sits between ``<!-- results:start -->`` and ``<!-- results:end -->`` and is only ever
written by this tool (``make results``; ``make run`` ends with it). Each row: the notebook (linked),
where its data came from and how many rows, its headline metrics (each with its 95 % interval when
the JSON records one), CPU minutes, the date and the torch version of the run; a legend line follows.

Nothing here is configured per notebook: lessons choose by naming their metrics. A notebook's
headline metrics are those whose name starts with ``test_``; if it has none, those starting with
``valid_``; if neither (00_start_here), all of its metrics. A notebook whose headlines are ``test_`` or
``valid_`` metrics, at least two, gets a bar chart of them (``results/<notebook>.png``, error bars from
its intervals). Plots depend only on the JSON files, so re-rendering gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SPLITS = ("test_", "valid_")  # headline prefixes, in order of preference
LOWER_IS_BETTER = {"mae", "mse", "rmse", "loss", "error", "perplexity"}  # name tokens that flip the axis hint


def load_records(folder: Path = RESULTS) -> list[dict]:
    """Every ``results/*.json``, sorted by notebook."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def number(value: float | int) -> str:
    """Integers with thousands separators, other numbers with 4 significant digits."""
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def bounds_text(value: float | int, bounds: list[float]) -> str:
    """``[low, high]`` formatted like ``value``: integers (rounded) for an integer metric."""
    low, high = (round(bound) if isinstance(value, int) else float(bound) for bound in bounds)
    return f"[{number(low)}, {number(high)}]"


def headline_keys(record: dict) -> list[str]:
    """The notebook's headline metric names: those it names in ``headline``; else its ``test_`` metrics,
    else its ``valid_`` ones, else all."""
    metrics = record["metrics"]
    if record.get("headline"):
        return [key for key in record["headline"] if key in metrics]
    for prefix in SPLITS:
        keys = [key for key in metrics if key.startswith(prefix)]
        if keys:
            return keys
    return list(metrics)


def headline(record: dict) -> str:
    """The headline metrics as ``name value`` pairs, ``name value [low, high]`` when there is an interval."""
    metrics, intervals = record["metrics"], record.get("intervals", {})
    return "<br>".join(
        f"{key} {number(metrics[key])}" + (f" {bounds_text(metrics[key], intervals[key])}" if key in intervals else "")
        for key in headline_keys(record))


def _common_prefix(keys: list[str]) -> list[str]:
    """The ``_``-separated words every key starts with, leaving each key at least one word of its own."""
    words = [key.split("_") for key in keys]
    prefix: list[str] = []
    for column in zip(*(row[:-1] for row in words)):
        if len(set(column)) != 1:
            break
        prefix.append(column[0])
    return prefix


def plot_metrics(record: dict) -> dict[str, tuple[float | int, tuple[float, float] | None]]:
    """The bars of a notebook's plot, label to (value, interval or ``None``); ``{}`` when it gets none.

    The bars are the headline metrics when they are ``test_`` or ``valid_`` ones and there are two or
    more; each label is the metric name less the words all of them share."""
    keys = headline_keys(record)
    if len(keys) < 2 or not keys[0].startswith(SPLITS):
        return {}
    cut = len(_common_prefix(keys))
    intervals = record.get("intervals", {})
    return {" ".join(key.split("_")[cut:]): (record["metrics"][key],
                                             tuple(map(float, intervals[key])) if key in intervals else None)
            for key in keys}


def plot_axis_label(record: dict) -> str:
    """What the bars measure, from the words the headline names share (``test_acc_*`` -> ``test acc``)."""
    words = _common_prefix(headline_keys(record))
    label = " ".join(words) or "value"
    if LOWER_IS_BETTER & set(words):
        label += ", lower is better"
    if any(interval is not None for _, interval in plot_metrics(record).values()):
        label += "; whiskers: 95 % interval"
    return label


def draw_plot(record: dict, folder: Path = RESULTS) -> Path | None:
    """Save the notebook's bar chart as ``<folder>/<notebook>.png``; ``None`` when it has no plot."""
    bars = plot_metrics(record)
    if not bars:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xlabel = plot_axis_label(record)
    number_part, _, words = record["notebook"].partition("_")
    title = f"{number_part} · {words.replace('_', ' ')}" if number_part.isdigit() and words else record["notebook"]
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * len(bars) + 1.2), dpi=100)
    labels = list(bars)
    ys = [len(bars) - 1 - i for i in range(len(bars))]  # first metric on top
    values = [value for value, _ in bars.values()]
    ax.barh(ys, values, color="tab:blue")
    ax.set_yticks(ys, labels)
    ends = []
    for y, (value, interval) in zip(ys, bars.values()):
        if interval is not None:
            low, high = interval
            ax.errorbar(value, y, xerr=[[value - low], [high - value]], fmt="none", ecolor="black",
                        elinewidth=1, capsize=3)
        end = max(value, interval[1]) if interval is not None else value
        ax.text(end, y, f" {number(value)}", va="center", fontsize=8)
        ends.append(end)
    extent = values + [bound for _, interval in bars.values() if interval is not None for bound in interval]
    low, high = min(extent), max(extent)
    left = 0.0
    if low > 0.8 * high > 0:  # close scores: start the axis below the lowest bar, and say so
        left = round(low - 0.5 * (high - low) - 0.01, 2)
        xlabel = f"{xlabel} (axis starts at {left:g})"
    ax.set_xlim(left, max(ends) + 0.18 * (max(ends) - left))
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


def legend(records: list[dict]) -> str:
    """The line under the table: what the brackets are, and where choices were made."""
    cv = [record["notebook"] for record in records if record.get("selected_on") == "cv"]
    where = "validation data" + (f" (cross-validation on the training rows in {', '.join(cv)})" if cv else "")
    return ("`[low, high]`: the metric's 95 % bootstrap (or seed) interval on the rows it names (`test_` or "
            f"`valid_`). Every choice (model, hyper-parameters, threshold, epochs) was made on {where}, "
            "never on test rows.")


def render_readme(readme: str, records: list[dict]) -> str:
    """``readme`` with the block between the results markers replaced by :func:`table` and :func:`legend`."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"README.md needs one {START} line followed by one {END} line")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    note = "<!-- generated by `make results` from results/*.json: do not edit by hand -->"
    return f"{head}{START}\n{note}\n\n{table(records)}\n\n{legend(records)}\n\n{END}{tail}"


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
