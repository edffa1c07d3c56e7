"""pytest configuration shared by the unit tests and nbval.

nbval compares text/plain, text/html and stdout of every cell with the committed outputs. stderr
carries warnings and progress bars, which differ between machines and library versions, so it is
not compared (nbval has no switch for that; adding "stderr" to its skip list is the one change).
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    try:
        from nbval.plugin import IPyNbFile
    except ImportError:  # nbval not installed: nothing to adjust
        return
    for item in items:
        notebook = item.parent
        if isinstance(notebook, IPyNbFile) and "stderr" not in notebook.skip_compare:
            notebook.skip_compare = (*notebook.skip_compare, "stderr")
