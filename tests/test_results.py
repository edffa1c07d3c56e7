"""record_results' intervals and selected_on, and how tools/render_results.py shows them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from utils.results import record_results

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from render_results import (  # noqa: E402
    END,
    START,
    draw_plot,
    headline,
    headline_keys,
    legend,
    plot_metrics,
    render_readme,
    table,
)


def record(metrics: dict, **extra) -> dict:
    return {"notebook": "99_demo", "data": {"source": "mirror", "rows": 1234}, "metrics": metrics,
            "runtime_seconds": 90.0, "date": "2030-01-02", "torch": "9.9.9", **extra}


# ---- record_results ---------------------------------------------------------------------------------

def test_record_results_writes_intervals_and_selected_on(tmp_path):
    path = record_results("99_demo", {"test_mae_linear": 4305, "test_acc_x": 0.912345678, "train_seconds_x": 3.0},
                          1234, "mirror", 61.23, intervals={"test_mae_linear": [4120, 4490.4],
                                                            "test_acc_x": (0.90111111, 0.92999999)},
                          selected_on="cv", results_dir=tmp_path)
    written = json.loads(path.read_text())
    assert written["metrics"] == {"test_mae_linear": 4305, "test_acc_x": 0.9123, "train_seconds_x": 3.0}
    assert written["intervals"] == {"test_mae_linear": [4120, 4490.4], "test_acc_x": [0.9011, 0.93]}
    assert isinstance(written["intervals"]["test_mae_linear"][0], int)  # integers stay integers
    assert written["selected_on"] == "cv"


def test_record_results_defaults_to_no_intervals_and_validation(tmp_path):
    written = json.loads(record_results("99_demo", {"valid_accuracy_x": 0.5}, 1, "mirror", 1.0,
                                        results_dir=tmp_path).read_text())
    assert written["intervals"] == {} and written["selected_on"] == "valid"


@pytest.mark.parametrize("intervals, message", [
    ({"test_acc_y": [0.8, 0.95]}, "not a metric"),            # names no metric
    ({"test_acc_x": [0.92, 0.95]}, "must contain its value"),  # above the value
    ({"test_acc_x": [0.80, 0.90]}, "must contain its value"),  # below the value
    ({"test_acc_x": [0.95, 0.85]}, "must contain its value"),  # reversed
    ({"test_acc_x": [float("nan"), 0.95]}, "must contain its value"),
    ({"test_acc_x": [0.9]}, "two numbers"),
    ({"test_acc_x": "ab"}, "two numbers"),
])
def test_record_results_rejects_a_bad_interval(tmp_path, intervals, message):
    with pytest.raises(ValueError, match=message) as error:
        record_results("99_demo", {"test_acc_x": 0.91}, 1, "mirror", 1.0, intervals=intervals, results_dir=tmp_path)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "99_demo.json").exists()


@pytest.mark.parametrize("selected_on", ["test", "train", "", None, "VALID"])
def test_record_results_rejects_a_bad_selected_on(tmp_path, selected_on):
    with pytest.raises(ValueError, match="selected_on"):
        record_results("99_demo", {"test_acc_x": 0.91}, 1, "mirror", 1.0, selected_on=selected_on,
                       results_dir=tmp_path)


def test_record_results_options_are_keyword_only(tmp_path):
    with pytest.raises(TypeError):
        record_results("99_demo", {"test_acc_x": 0.91}, 1, "mirror", 1.0, {"test_acc_x": [0.9, 0.92]})


# ---- the renderer -----------------------------------------------------------------------------------

def test_renderer_shows_an_interval_formatted_like_its_metric():
    shown = headline(record({"test_mae_linear": 4305, "test_acc_x": 0.91234, "test_acc_y": 0.5},
                            intervals={"test_mae_linear": [4120, 4490.4], "test_acc_x": [0.90111, 0.9299]}))
    assert shown.split("<br>") == ["test_mae_linear 4,305 [4,120, 4,490]", "test_acc_x 0.9123 [0.9011, 0.9299]",
                                   "test_acc_y 0.5"]


def test_headlines_are_test_metrics_else_valid_ones_else_all():
    assert headline_keys(record({"valid_acc_x": 1, "test_acc_x": 2, "test_acc_y": 3, "train_seconds_x": 4})) == [
        "test_acc_x", "test_acc_y"]
    assert headline_keys(record({"valid_acc_x": 1, "lm_perplexity_x": 2, "valid_f1_x": 3})) == [
        "valid_acc_x", "valid_f1_x"]
    assert headline_keys(record({"datasets_loaded": 7})) == ["datasets_loaded"]


def test_old_results_without_intervals_or_selected_on_still_render():
    old = record({"test_acc_x": 0.91234, "test_acc_y": 0.8})
    assert "| test_acc_x 0.9123<br>test_acc_y 0.8 |" in table([old])
    assert plot_metrics(old) == {"x": (0.91234, None), "y": (0.8, None)}


def test_plot_bars_are_the_headlines_with_their_intervals(tmp_path):
    rec = record({"test_acc_tfidf_lr": 0.87, "test_acc_scratch": 0.85, "latency_ms_scratch": 7.2},
                 intervals={"test_acc_scratch": [0.84, 0.86]})
    assert plot_metrics(rec) == {"tfidf lr": (0.87, None), "scratch": (0.85, (0.84, 0.86))}
    assert plot_metrics(record({"test_acc_x": 0.9})) == {}  # one bar: no plot
    assert plot_metrics(record({"acc_x": 0.9, "acc_y": 0.8})) == {}  # no test_/valid_ names: no plot
    first = draw_plot(rec, tmp_path).read_bytes()
    assert first.startswith(b"\x89PNG") and draw_plot(rec, tmp_path).read_bytes() == first


def test_legend_sits_inside_the_generated_block_and_names_cross_validation():
    readme = f"intro\n{START}\nold table\n{END}\noutro\n"
    records = [record({"test_acc_x": 0.9}, intervals={"test_acc_x": [0.8, 0.95]}, selected_on="valid"),
               dict(record({"valid_acc_x": 0.9}, selected_on="cv"), notebook="98_cv")]
    block = render_readme(readme, records).split(START)[1].split(END)[0]
    assert table(records) in block and legend(records) in block
    assert "95 % bootstrap (or seed) interval" in legend(records) and "validation data" in legend(records)
    assert "98_cv" in legend(records) and "99_demo" not in legend(records)
    assert "cross-validation" not in legend(records[:1])


def test_a_named_headline_is_what_the_table_shows_and_needs_its_interval(tmp_path):
    import json

    from render_results import headline_keys

    from utils.results import record_results

    metrics = {"valid_acc_a": 0.7, "valid_acc_b": 0.6, "valid_f1_a": 0.5}
    path = record_results("99_demo", metrics, 10, "mirror", 1.0, intervals={"valid_acc_a": (0.6, 0.8)},
                          headline=["valid_acc_a"], results_dir=tmp_path)
    assert headline_keys(json.loads(path.read_text())) == ["valid_acc_a"]
    with pytest.raises(ValueError, match="no interval"):
        record_results("99_demo", metrics, 10, "mirror", 1.0, headline=["valid_acc_b"], results_dir=tmp_path)
    with pytest.raises(ValueError, match="not a metric"):
        record_results("99_demo", metrics, 10, "mirror", 1.0, headline=["test_x"], results_dir=tmp_path)
