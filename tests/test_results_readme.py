"""The README's results table is rendered from results/*.json by `make results`, never typed by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from render_results import END, START, draw_plot, load_records, plot_metrics, render_readme, table  # noqa: E402

RECORDS = load_records(ROOT / "results")


def test_readme_results_table_is_fresh():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_readme(readme, RECORDS) == readme, "README.md's results table is stale: run `make results`"


def test_every_result_has_a_row_and_every_linked_plot_exists():
    rendered = table(RECORDS)
    for record in RECORDS:
        assert f"[{record['notebook']}](notebooks/{record['notebook']}.ipynb)" in rendered
        notebook = ROOT / "notebooks" / f"{record['notebook']}.ipynb"
        assert notebook.is_file(), f"{record['notebook']}.json has no notebook"
        if plot_metrics(record):
            assert (ROOT / "results" / f"{record['notebook']}.png").is_file(), "run `make results` to draw it"


def test_plots_are_byte_stable(tmp_path):
    record = next(record for record in RECORDS if plot_metrics(record))
    first = draw_plot(record, tmp_path).read_bytes()
    assert draw_plot(record, tmp_path).read_bytes() == first


def test_table_shows_headlines_minutes_date_and_torch():
    record = {"notebook": "99_demo", "data": {"source": "mirror", "rows": 1234},
              "metrics": {"acc": 0.91234, "n": 3}, "runtime_seconds": 90.0, "date": "2030-01-02", "torch": "9.9.9"}
    row = table([record]).splitlines()[-1]
    assert row == ("| [99_demo](notebooks/99_demo.ipynb) | mirror, 1,234 rows | acc 0.9123<br>n 3 | 1.5 "
                   "| 2030-01-02 | 9.9.9 |  |")


@pytest.mark.parametrize("readme", ["no markers", f"{END}\n{START}\n", f"{START}\n{START}\n{END}\n"])
def test_readme_without_one_pair_of_markers_is_a_clear_error(readme):
    with pytest.raises(ValueError, match="results:start"):
        render_readme(readme, RECORDS)


@pytest.mark.parametrize("record", RECORDS, ids=[record["notebook"] for record in RECORDS])
def test_committed_intervals_name_a_metric_and_contain_it(record):
    for name, (low, high) in record.get("intervals", {}).items():
        assert name in record["metrics"], f"{record['notebook']}: interval for {name}, which is not a metric"
        assert low <= record["metrics"][name] <= high, f"{record['notebook']}: {name} outside [{low}, {high}]"
    assert record.get("selected_on", "valid") in ("valid", "cv")
