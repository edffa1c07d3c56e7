"""Seeding and device choice, so every run of a notebook gives the same numbers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 42, threads: int | None = 2) -> torch.Generator:
    """Seed Python, NumPy and PyTorch, fix the CPU thread count, and return a seeded generator.

    Pass the returned generator to ``DataLoader(generator=...)`` so shuffling is reproducible
    too. A fixed thread count keeps CPU float reductions in the same order from run to run.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return torch.Generator().manual_seed(seed)


def get_device() -> torch.device:
    """CUDA when a GPU is present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
