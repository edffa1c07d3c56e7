"""Run a lesson notebook in one kernel, at reduced size, and try exercise mutants and probes inside it.

A lesson's exercise checks must fail plausible wrong answers, and its model code must run on a
device other than the default. Both need the lesson's own state (data, vocabularies, trained models),
so both are tried in one pass over the notebook:

    run = run_lesson(
        "02_baselines.ipynb",
        overrides="EPOCHS = 1",                       # run right after the parameters cell
        mutants=[Mutant("substring rule", region="def rule_tags", source="return [t for t in TAGS if t in text]")],
        probes=[Probe("cnn on meta", after="cnn = CNN(", code="run_on_meta(neural_predict, meta_model(cnn), loader)")],
    )
    assert run.caught["substring rule"], "the rule check let a substring match through"

``Mutant``: the code cell holding ``region`` (a substring) has its ``### BEGIN SOLUTION`` …
``### END SOLUTION`` region replaced by ``source`` (re-indented to the region's indentation); the mutated
cell and the cells after it, up to and including the check cell (``check``, a substring; default: the
first later code cell containing ``assert``), run, and some cell in that span must raise. Then the span
runs again with the real solution and the notebook goes on.

``Probe``: ``code`` runs in the kernel right after the cell containing ``after``; it must not raise. The
kernel's working directory is ``notebooks/`` and the repository root is on ``sys.path``, so a probe can
``from tests.device_harness import run_on_meta``.

Outside mutant spans an ``AssertionError`` (a quality bar missed at reduced size) is tolerated and
recorded; any other error stops the run with the cell's traceback. The kernel writes its results JSON
to a temporary folder (``COURSE_RESULTS_DIR``), never to ``results/``.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
PARAMETERS = "FULL_SCALE_OVERRIDES"


@dataclass(frozen=True)
class Mutant:
    """A plausible wrong answer for one solution region, and the check that must catch it."""

    name: str
    region: str
    source: str
    check: str | None = None


@dataclass(frozen=True)
class Probe:
    """Code run in the lesson's kernel after the cell containing ``after``; it must not raise."""

    name: str
    after: str
    code: str


@dataclass
class LessonRun:
    """What happened: per mutant the error that caught it (None: not caught), per probe its error."""

    caught: dict[str, str | None] = field(default_factory=dict)
    probe_errors: dict[str, str | None] = field(default_factory=dict)
    tolerated: list[str] = field(default_factory=list)
    cells_run: int = 0
    seconds: float = 0.0


class CellError(RuntimeError):
    """A cell outside every mutant span raised something other than an AssertionError."""


def mutate(source: str, replacement: str) -> str:
    """``source`` with its first solution region's body replaced by ``replacement``."""
    lines = source.split("\n")
    start = next((i for i, line in enumerate(lines) if BEGIN.match(line)), None)
    if start is None:
        raise ValueError("the cell has no ### BEGIN SOLUTION region")
    stop = next(i for i in range(start, len(lines)) if END.match(lines[i]))
    indent = BEGIN.match(lines[start]).group("indent")
    body = textwrap.indent(textwrap.dedent(replacement).strip("\n"), indent, lambda line: True)
    return "\n".join(lines[:start] + body.split("\n") + lines[stop + 1:])


class Kernel:
    """A Python kernel started in ``cwd``; ``run`` returns None or 'Ename: evalue' and the traceback."""

    def __init__(self, cwd: Path, timeout: int):
        self.results = tempfile.TemporaryDirectory(prefix="lesson-probe-results-")
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
            "COURSE_RESULTS_DIR": self.results.name}   # a reduced-size run must never overwrite results/
        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)
        self.timeout = timeout

    def run(self, code: str) -> tuple[str | None, str]:
        errors: list[dict] = []

        def keep_errors(message: dict) -> None:
            if message["msg_type"] == "error":
                errors.append(message["content"])

        reply = self.client.execute_interactive(code, timeout=self.timeout, output_hook=keep_errors)
        if reply["content"]["status"] != "error":
            return None, ""
        content = errors[0] if errors else reply["content"]
        traceback = "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in content.get("traceback", []))
        return f"{content['ename']}: {content['evalue']}".split("\n")[0][:300], traceback

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        self.results.cleanup()


def _find(cells: list[str], needle: str, start: int = 0, what: str = "cell") -> int:
    for index in range(start, len(cells)):
        if needle in cells[index]:
            return index
    raise ValueError(f"no code cell from #{start} on contains {what} {needle!r}")


def run_lesson(
    notebook: str | Path,
    *,
    overrides: str = "",
    mutants: Sequence[Mutant] = (),
    probes: Sequence[Probe] = (),
    stop_after: str | None = None,
    timeout: int = 900,
) -> LessonRun:
    """Run ``notebook`` (a path, or a name in notebooks/) top to bottom with mutants and probes tried."""
    path = Path(notebook) if Path(notebook).exists() else NOTEBOOKS / notebook
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    last = _find(cells, stop_after, what="stop_after") if stop_after else len(cells) - 1
    spans: dict[int, list[tuple[Mutant, int]]] = {}
    for mutant in mutants:
        regions = [source if "### BEGIN SOLUTION" in source else "" for source in cells]
        at = _find(regions, mutant.region, what="solution region")
        end = _find(cells, mutant.check or "assert", at + 1, "check")
        spans.setdefault(at, []).append((mutant, end))
    pending = list(probes)
    for probe in pending:
        _find(cells, probe.after, what="probe anchor")

    run, started = LessonRun(), time.perf_counter()
    kernel = Kernel(path.parent, timeout)
    try:
        def execute(index: int, source: str) -> None:
            error, traceback = kernel.run(source)
            run.cells_run += 1
            if error and error.startswith("AssertionError"):
                run.tolerated.append(f"cell {index}: {error}")
            elif error:
                raise CellError(f"{path.name}, code cell {index} raised {error}\n{traceback}")

        for index in range(last + 1):
            for mutant, end in spans.get(index, []):
                caught = None
                for position in range(index, end + 1):
                    source = mutate(cells[index], mutant.source) if position == index else cells[position]
                    caught, _ = kernel.run(source)
                    run.cells_run += 1
                    if caught:
                        break
                run.caught[mutant.name] = caught
            execute(index, cells[index])
            if PARAMETERS in cells[index] and overrides:
                execute(index, overrides)
            for probe in [p for p in pending if p.after in cells[index]]:
                run.probe_errors[probe.name] = kernel.run(probe.code)[0]
                pending.remove(probe)
    finally:
        kernel.close()
    run.seconds = time.perf_counter() - started
    missing = [m.name for m in mutants if m.name not in run.caught] + [p.name for p in pending]
    if missing:
        raise ValueError(f"never reached before the run stopped: {missing}")
    return run
