"""Project invariants: pins in sync, notebooks committed executed, CI runs the README's command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from utils import record_results, seed_everything

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def pins(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if re.match(r"^[A-Za-z0-9_.-]+==", line.strip())]


def test_environment_yml_carries_the_same_pins_as_requirements():
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    environment = pins(line.strip().removeprefix("- ") for line in (ROOT / "environment.yml").read_text().splitlines())
    assert requirements and requirements == environment
    assert "torch==2.13.0" in requirements


def test_ci_runs_the_test_command_the_readme_gives():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make run" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*(time\s+)?make test\s*$", ci, re.MULTILINE)


def test_there_is_a_notebook_per_lesson_start_first():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_executed_in_order(path):
    notebook = json.loads(path.read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code" and "".join(cell["source"]).strip()]
    counts = [cell["execution_count"] for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: re-run it top to bottom (make run NB=...)"
    errors = [o for cell in code for o in cell["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name} was saved with an error output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_stand_alone_on_their_line(path):
    """nbval only honours `# NBVAL_IGNORE_OUTPUT` exactly; `# NBVAL_IGNORE_OUTPUT: why` is ignored."""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "code" and line.lstrip().startswith("#") and "NBVAL_" in line:
                assert re.fullmatch(r"#\s*NBVAL_[A-Z_]+", line.strip()), f"{path.name}: {line.strip()!r}"


def test_record_results_writes_the_documented_schema(tmp_path):
    path = record_results("99_demo", {"accuracy": 0.912345678}, data_rows=1234, data_source="mirror",
                          seconds=61.23, results_dir=tmp_path)
    record = json.loads(path.read_text())
    assert record["notebook"] == "99_demo"
    assert record["data"] == {"source": "mirror", "rows": 1234}
    assert record["metrics"] == {"accuracy": 0.9123}
    assert record["runtime_seconds"] == 61.2 and record["torch"] == torch.__version__
    with pytest.raises(ValueError, match="data_source"):
        record_results("99_demo", {}, 1, "laptop", 1.0, results_dir=tmp_path)


def test_seed_everything_makes_torch_and_loaders_repeat():
    generator = seed_everything(7)
    first = torch.randn(3), torch.randperm(10, generator=generator)
    generator = seed_everything(7)
    second = torch.randn(3), torch.randperm(10, generator=generator)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
