"""Seeding and device choice, so every run of a notebook gives the same numbers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

THREADS_ENV = "COURSE_THREADS"  # the thread count when a caller does not pass one (make test-threads sets it)
DEFAULT_THREADS = 2


def default_threads() -> int:
    """``$COURSE_THREADS`` when set (a positive integer), else 2."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return DEFAULT_THREADS
    try:
        threads = int(value)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, not {value!r}") from None
    if threads < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, not {value!r}")
    return threads


def seed_everything(seed: int = 42, threads: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and PyTorch, fix the CPU thread count, and return a seeded generator.

    Pass the returned generator to ``DataLoader(generator=...)`` so shuffling is reproducible
    too. A fixed thread count keeps CPU float reductions in the same order from run to run:
    ``threads``, or when it is ``None`` the environment variable ``COURSE_THREADS`` (an integer;
    ``make test-threads`` sets it to check the notebooks under another thread count), else 2.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch.set_num_threads(default_threads() if threads is None else threads)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)


def get_device() -> torch.device:
    """CUDA when a GPU is present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
