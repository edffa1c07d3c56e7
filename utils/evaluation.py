"""Honest evaluation: a seeded train/validation/test split, bootstrap intervals, size and speed.

Every lesson makes its choices on the validation rows and touches the test rows once, for the
closing table; every headline number there carries a 95 % interval from :func:`metric_ci`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy.stats import binomtest
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from torch import nn


def train_valid_test_split(
    frame: pd.DataFrame,
    valid_size: float,
    test_size: float,
    seed: int = 42,
    stratify: str | None = None,
    groups: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into train, validation and test rows, seeded; sizes are shares of all rows.

    ``stratify`` names a column whose class shares each part keeps; ``groups`` names a column
    (e.g. a product id) whose rows all land in the same part, so no entity is seen in training and
    scored in validation or test. The two are exclusive. Each part keeps the frame's index.
    """
    if not (0 < valid_size < 1 and 0 < test_size < 1 and valid_size + test_size < 1):
        raise ValueError(f"valid_size and test_size must be shares in (0, 1) that sum below 1, "
                         f"not {valid_size} and {test_size}")
    if stratify and groups:
        raise ValueError("stratify and groups cannot both be given")
    if groups:
        outer = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        rest_at, test_at = next(outer.split(frame, groups=frame[groups]))
        rest = frame.iloc[rest_at]
        inner = GroupShuffleSplit(n_splits=1, test_size=valid_size / (1 - test_size), random_state=seed)
        train_at, valid_at = next(inner.split(rest, groups=rest[groups]))
        return rest.iloc[train_at], rest.iloc[valid_at], frame.iloc[test_at]
    rest, test = train_test_split(frame, test_size=test_size, random_state=seed,
                                  stratify=frame[stratify] if stratify else None)
    train, valid = train_test_split(rest, test_size=valid_size / (1 - test_size), random_state=seed,
                                    stratify=rest[stratify] if stratify else None)
    return train, valid, test


def metric_ci(
    y_true: Any,
    y_pred: Any,
    metric: Callable[[Any, Any], float],
    n: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """A percentile-bootstrap interval of ``metric(y_true, y_pred)`` over the rows.

    ``metric`` takes scikit-learn's argument order, truth first (``sklearn.metrics.f1_score`` and
    friends fit as they are; on NumPy arrays, so resampling stays fast).

    The rows (first axis of both arrays; multi-label rows stay whole) are resampled with
    replacement ``n`` times, the metric computed on each resample, and the central ``confidence``
    share of those values returned as ``(low, high)``. Differences between two models whose
    intervals overlap this much are ties until a paired test says otherwise.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred need the same, non-zero number of rows "
                         f"({len(y_true)} and {len(y_pred)})")
    rng = np.random.default_rng(seed)
    scores = np.empty(n)
    for i in range(n):
        rows = rng.integers(0, len(y_true), len(y_true))
        scores[i] = metric(y_true[rows], y_pred[rows])
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return float(low), float(high)


def seed_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean +- 2 standard deviations of a metric over seeds: the spread of the training itself."""
    values = np.asarray(values, dtype=float)
    spread = 2 * values.std(ddof=1) if len(values) > 1 else 0.0
    return float(values.mean() - spread), float(values.mean() + spread)


class McNemar(NamedTuple):
    """McNemar's paired test: rows only model A got right, rows only B got right, two-sided p."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar(y_true: Any, pred_a: Any, pred_b: Any) -> McNemar:
    """McNemar's exact test of two classifiers scored on the same rows (labels, not logits).

    Rows both models get right or both get wrong say nothing about which is better; only the
    discordant ones count. Under "no difference" each discordant row is a fair coin, so the p-value
    is a two-sided binomial test of ``only_a`` successes in ``only_a + only_b`` tries. A small
    p-value (say below 0.05) says the accuracy gap is more than the luck of these rows.
    """
    y_true, pred_a, pred_b = (np.asarray(a) for a in (y_true, pred_a, pred_b))
    if not (len(y_true) == len(pred_a) == len(pred_b)) or len(y_true) == 0:
        raise ValueError(f"y_true, pred_a and pred_b need the same, non-zero number of rows "
                         f"({len(y_true)}, {len(pred_a)} and {len(pred_b)})")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    p_value = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return McNemar(only_a, only_b, float(p_value))


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of rows whose highest logit is the target class (a ``utils.fit`` metric).

    The arguments come in torch's order, predictions first; :func:`metric_ci` passes scikit-learn's
    ``(y_true, y_pred)``, so give it ``lambda t, p: (p == t).mean()`` on labels instead.
    """
    if logits.dim() < 2:
        raise ValueError(f"accuracy takes logits of shape (rows, classes) first, then targets; got shape "
                         f"{tuple(logits.shape)} first")
    return (logits.argmax(dim=-1) == targets).float().mean().item()


def count_parameters(model: nn.Module, trainable: bool = False) -> int:
    """Number of weights in ``model`` (only those that train when ``trainable``); tied ones once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def latency_ms(predict: Callable[[Any], Any], inputs: Iterable[Any], warmup: int = 1) -> float:
    """Median milliseconds ``predict`` takes on one input, the way a service meets requests.

    The first ``warmup`` inputs are run untimed first (lazy initialisation, caches).
    """
    inputs = list(inputs)
    for item in inputs[:warmup]:
        predict(item)
    times = []
    for item in inputs:
        started = time.perf_counter()
        predict(item)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


__all__ = ["accuracy", "count_parameters", "latency_ms", "metric_ci", "seed_interval", "train_valid_test_split"]
