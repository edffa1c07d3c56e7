"""utils.evaluation and utils.text: splits that keep entities apart, intervals that cover, sizes, speed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from utils import (
    PAD,
    UNK,
    Vocab,
    accuracy,
    count_parameters,
    latency_ms,
    masked_max,
    masked_mean,
    mcnemar,
    metric_ci,
    seed_interval,
    train_valid_test_split,
)


def frame(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "label": rng.integers(0, 3, n), "asin": rng.integers(0, 150, n)})


def test_split_sizes_are_shares_of_all_rows_disjoint_and_seeded():
    data = frame()
    train, valid, test = train_valid_test_split(data, valid_size=0.2, test_size=0.15, seed=1)
    assert len(test) == 150 and abs(len(valid) - 200) <= 1 and len(train) + len(valid) == 850
    assert set(train.index).isdisjoint(valid.index) and set(train.index).union(valid.index).isdisjoint(test.index)
    again = train_valid_test_split(data, valid_size=0.2, test_size=0.15, seed=1)
    assert all(a.index.equals(b.index) for a, b in zip((train, valid, test), again))
    other = train_valid_test_split(data, valid_size=0.2, test_size=0.15, seed=2)
    assert not test.index.equals(other[2].index)


def test_grouped_split_keeps_every_entity_in_one_part():
    data = frame()
    train, valid, test = train_valid_test_split(data, 0.2, 0.2, seed=0, groups="asin")
    parts = [set(part["asin"]) for part in (train, valid, test)]
    assert parts[0].isdisjoint(parts[1]) and parts[0].isdisjoint(parts[2]) and parts[1].isdisjoint(parts[2])
    assert 0.1 < len(test) / len(data) < 0.3 and 0.1 < len(valid) / len(data) < 0.3
    # a plain split would put the same product on both sides
    plain = train_valid_test_split(data, 0.2, 0.2, seed=0)
    assert set(plain[0]["asin"]) & set(plain[2]["asin"])


def test_stratified_split_keeps_class_shares():
    data = frame(3000)
    _, _, test = train_valid_test_split(data, 0.2, 0.2, seed=0, stratify="label")
    shares = data["label"].value_counts(normalize=True).sort_index()
    assert np.allclose(test["label"].value_counts(normalize=True).sort_index(), shares, atol=0.01)


@pytest.mark.parametrize("sizes", [(0.0, 0.2), (0.5, 0.5), (0.2, 1.2)])
def test_split_rejects_impossible_sizes(sizes):
    with pytest.raises(ValueError):
        train_valid_test_split(frame(), *sizes)


def test_metric_ci_covers_the_truth_and_narrows_with_more_rows():
    rng = np.random.default_rng(1)
    def acc(t, p):
        return float((t == p).mean())
    widths = []
    for n in (200, 5000):
        y = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < 0.8, y, 1 - y)       # a classifier right 80 % of the time
        low, high = metric_ci(y, pred, acc, n=500, seed=0)
        assert low <= acc(y, pred) <= high and low < 0.8 < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3                           # sqrt(25) = 5 times narrower, roughly
    assert metric_ci(y, pred, acc, n=200, seed=3) == metric_ci(y, pred, acc, n=200, seed=3)
    with pytest.raises(ValueError):
        metric_ci(y, pred[:-1], acc)


def test_metric_ci_resamples_multilabel_rows_whole():
    y = np.array([[1, 0], [0, 1]] * 50)
    low, high = metric_ci(y, y, lambda t, p: float((t == p).all(axis=1).mean()), n=100)
    assert low == high == 1.0


def test_seed_interval_and_accuracy():
    assert seed_interval([0.8, 0.8, 0.8]) == (pytest.approx(0.8), pytest.approx(0.8))
    low, high = seed_interval([0.7, 0.8, 0.9])
    assert low < 0.7 and high > 0.9
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == 0.75


def test_count_parameters_counts_tied_weights_once_and_trainable_only():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10))
    model[1].weight = model[0].weight                        # tied: 40 weights, not 80
    assert count_parameters(model) == 40 + 10
    model[0].weight.requires_grad_(False)
    assert count_parameters(model, trainable=True) == 10


def test_latency_is_the_median_per_input():
    import time
    calls = []
    def predict(x):
        calls.append(x)
        time.sleep(0.01 if x else 0.0)
    ms = latency_ms(predict, [1, 1, 1, 0], warmup=1)
    assert len(calls) == 5 and 8 < ms < 100


def test_masked_pooling_ignores_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]], [[-2.0], [-4.0], [-100.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    assert masked_mean(x, mask).flatten().tolist() == [2.0, -2.0]
    assert masked_max(x, mask).flatten().tolist() == [3.0, -2.0]     # a plain max would pick 100 / -2
    empty = torch.zeros(1, 3, dtype=torch.bool)
    assert masked_max(x[:1], empty).flatten().tolist() == [0.0] and masked_mean(x[:1], empty).tolist() == [[0.0]]


def test_vocab_special_token_order_and_min_freq():
    vocab = Vocab.build([["a", "a", "b", "c", "c", "c"]], min_freq=2)
    assert vocab.itos == [PAD, UNK, "c", "a"] and vocab.stoi[PAD] == 0 and vocab.stoi[UNK] == 1
    assert vocab.encode(["a", "b", "zzz"]) == [3, 1, 1] and vocab.decode([2, 3]) == ["c", "a"]
    assert Vocab.build([["x"]], eos=True).itos == [PAD, UNK, "<eos>", "x"]
    assert len(Vocab.build([list("abcdef")], max_size=4)) == 4
    with pytest.raises(ValueError):
        Vocab([UNK, PAD, "a"])                                   # the old order is refused


def test_accuracy_refuses_its_arguments_swapped():
    with pytest.raises(ValueError, match="logits"):
        accuracy(torch.tensor([0, 1, 1]), torch.tensor([[0.1, 0.9]] * 3))


def test_mcnemar_counts_only_discordant_rows_and_matches_a_hand_binomial():
    y = np.zeros(100, dtype=int)
    a = y.copy()
    b = y.copy()
    a[:3] = 1    # A wrong on 3 rows that B gets right
    b[10:20] = 1  # B wrong on 10 rows that A gets right
    a[50:60] = 1  # both wrong: ignored
    b[50:60] = 1
    result = mcnemar(y, a, b)
    assert (result.only_a, result.only_b) == (10, 3)
    # two-sided exact binomial: 2 * P(X <= 3 | n=13, 1/2) = 2 * 378 / 8192
    assert result.p_value == pytest.approx(2 * 378 / 8192)
    assert mcnemar(y, a, a).p_value == 1.0
    assert mcnemar(y, b, a).only_a == 3
    with pytest.raises(ValueError):
        mcnemar(y, a, b[:-1])
