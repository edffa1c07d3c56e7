"""seed_everything's thread count: the argument, else $COURSE_THREADS, else 2."""

from __future__ import annotations

import pytest
import torch

from utils.reproducibility import THREADS_ENV, seed_everything


@pytest.fixture(autouse=True)
def keep_thread_count():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_without_argument_or_environment_two_threads(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    torch.set_num_threads(1)
    seed_everything(0)
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("value", ["1", "3", " 1 "])
def test_environment_sets_the_thread_count(monkeypatch, value):
    monkeypatch.setenv(THREADS_ENV, value)
    seed_everything(0)
    assert torch.get_num_threads() == int(value)


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "")
    seed_everything(0, threads=None)
    assert torch.get_num_threads() == 2


def test_an_explicit_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    seed_everything(0, threads=1)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("value", ["two", "1.5", "0", "-1"])
def test_a_bad_value_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(ValueError, match=THREADS_ENV):
        seed_everything(0)


def test_seeding_still_repeats_under_the_environment(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "1")
    generator = seed_everything(5)
    first = torch.randn(4), torch.randperm(8, generator=generator)
    generator = seed_everything(5)
    second = torch.randn(4), torch.randperm(8, generator=generator)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
