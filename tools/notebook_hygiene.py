"""Keep widget state out of committed notebooks.

    python tools/notebook_hygiene.py notebooks/*.ipynb exercises/*.ipynb           # strip in place
    python tools/notebook_hygiene.py --check notebooks/*.ipynb exercises/*.ipynb   # exit 1 if any carries some

Executing a notebook that draws ``ipywidgets`` (``tqdm.auto`` progress bars, live plots) saves the
widgets' state in ``metadata.widgets`` and an ``application/vnd.jupyter.widget-view+json`` entry in
their outputs: up to a few hundred kB a notebook that change on every run (noisy diffs) and point
at a kernel that is gone; nbval, which compares text, ignores them. The text/plain fallback next
to each is what a reader without the kernel sees, and is kept.
``tools/run_notebooks.py`` strips every notebook it executes; this CLI cleans notebooks without
re-running them (only metadata and outputs change, never a cell's source).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RICH_OUTPUTS = ("display_data", "execute_result")


def strip_widgets(notebook: nbformat.NotebookNode) -> bool:
    """Remove widget state from ``notebook`` in place; True when anything was removed.

    Drops ``metadata.widgets`` and, in every display_data/execute_result output, the widget-view
    entry of its data (its metadata for that type too); an output left with no data is dropped.
    """
    changed = notebook.metadata.pop("widgets", None) is not None
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") in RICH_OUTPUTS and WIDGET_VIEW in output.get("data", {}):
                del output["data"][WIDGET_VIEW]
                output.get("metadata", {}).pop(WIDGET_VIEW, None)
                changed = True
                if not output["data"]:
                    continue
            kept.append(output)
        cell.outputs = kept
    return changed


def has_widgets(notebook: nbformat.NotebookNode) -> bool:
    """True when ``notebook`` carries widget state (what :func:`strip_widgets` removes)."""
    return "widgets" in notebook.metadata or any(
        output.get("output_type") in RICH_OUTPUTS and WIDGET_VIEW in output.get("data", {})
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks with widget state")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    dirty = []
    for path in args.notebooks:
        notebook = nbformat.read(path, as_version=4)
        if args.check:
            if has_widgets(notebook):
                dirty.append(path)
        elif strip_widgets(notebook):
            nbformat.write(notebook, path)
            print(f"{path}: widget state removed")
    if dirty:
        print("widget state saved in: " + ", ".join(map(str, dirty))
              + " (run python tools/notebook_hygiene.py on them)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
