"""The shared training loop on a tiny synthetic regression: it learns, stops early, keeps the best."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from utils import (
    EarlyStopping,
    History,
    evaluate,
    fit,
    lr_range_test,
    plot_history,
    predict,
    seed_everything,
    train_epoch,
)


def mae(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    return (predictions - targets).abs().mean().item()


def regression(n: int = 256, seed: int = 0) -> TensorDataset:
    """y = x @ w + 0.5 + noise, with 4 features."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.5 + 0.1 * torch.randn(n, generator=generator)
    return TensorDataset(x, y)


class Linear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)[:, 0]


def loaders(batch_size: int = 32) -> tuple[DataLoader, DataLoader]:
    generator = seed_everything(0)
    train = DataLoader(regression(256, 0), batch_size=batch_size, shuffle=True, generator=generator)
    valid = DataLoader(regression(128, 1), batch_size=64)
    return train, valid


def test_loss_goes_down_and_history_has_one_row_an_epoch():
    train, valid = loaders()
    model = Linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, train, valid, nn.functional.mse_loss, optimizer, epochs=5,
                  metrics={"mae": mae}, device="cpu", progress=False)
    assert isinstance(history, History)
    assert list(history.epochs.index) == [1, 2, 3, 4, 5]
    assert list(history.epochs.columns) == ["train_loss", "train_mae", "valid_loss", "valid_mae", "seconds"]
    assert len(history.steps) == 5 * len(train)
    assert history.epochs["valid_loss"].iloc[-1] < 0.05 * history.epochs["valid_loss"].iloc[0]
    assert history.epochs["train_loss"].is_monotonic_decreasing
    assert history.best_epoch == 5
    # the reported validation figures are those of the returned model
    scores = evaluate(model, valid, nn.functional.mse_loss, {"mae": mae}, device="cpu")
    assert scores["loss"] == pytest.approx(history.epochs.loc[5, "valid_loss"], rel=1e-5)
    assert scores["mae"] == pytest.approx(history.epochs.loc[5, "valid_mae"], rel=1e-5)


def test_early_stopping_restores_the_best_epochs_weights():
    train, valid = loaders()
    model = Linear()
    # A learning rate far too large makes validation loss blow up after a first lucky epoch or two.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.6)
    history = fit(model, train, valid, nn.functional.mse_loss, optimizer, epochs=30,
                  early_stopping=EarlyStopping(patience=2), device="cpu", progress=False)
    epochs = history.epochs
    assert history.best_epoch == epochs["valid_loss"].idxmin()
    assert len(epochs) == history.best_epoch + 2  # stopped after `patience` epochs without progress
    assert len(epochs) < 30
    restored = evaluate(model, valid, nn.functional.mse_loss, device="cpu")["loss"]
    assert restored == pytest.approx(epochs["valid_loss"].min(), rel=1e-5)
    assert restored < epochs["valid_loss"].iloc[-1]


class DictDataset(Dataset):
    """Batches as dicts: keyword arguments of the model plus the target."""

    def __init__(self, data: TensorDataset) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        x, y = self.data[i]
        return {"left": x[:2], "right": x[2:], "target": y}


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.left, self.right = nn.Linear(2, 1), nn.Linear(2, 1)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return (self.left(left) + self.right(right))[:, 0]


def test_dict_batches_predict_and_plot():
    generator = seed_everything(0)
    train = DataLoader(DictDataset(regression(256, 0)), batch_size=32, shuffle=True, generator=generator)
    valid = DataLoader(DictDataset(regression(128, 1)), batch_size=64)
    model = TwoInputs()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, train, valid, nn.functional.mse_loss, optimizer, epochs=3,
                  metrics={"mae": mae}, early_stopping=EarlyStopping("valid_mae", patience=5), device="cpu",
                  progress=False)
    assert history.epochs.shape == (3, 5) and history.monitor == "valid_mae"
    predictions, targets = predict(model, valid, device="cpu")
    assert predictions.shape == targets.shape == (128,)
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]
    assert isinstance(history.best, pd.Series)


def test_scheduler_steps_every_batch():
    train, valid = loaders()
    model = Linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    fit(model, train, valid, nn.functional.mse_loss, optimizer, epochs=3, device="cpu",
        progress=False, scheduler=scheduler)
    assert scheduler.last_epoch == 3 * len(train)  # one scheduler step per optimisation step
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / (1 + 3 * len(train)))


def test_max_grad_norm_bounds_every_step():
    train, valid = loaders()
    model = Linear()
    before = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(model, train, valid, nn.functional.mse_loss, optimizer, epochs=1, device="cpu",
        progress=False, max_grad_norm=1e-3)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    # plain SGD at lr=1 moves the weights by lr * |clipped gradient| <= 1e-3 a step
    assert (after - before).norm() <= len(train) * 1e-3 + 1e-6
    assert (after - before).norm() > 0


def test_train_epoch_is_one_pass_and_reports_the_mean_loss():
    train, _ = loaders()
    model = Linear()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)   # no update: the mean loss is exact
    losses = []
    loss, predictions, targets = train_epoch(model, train, nn.functional.mse_loss, optimizer, device="cpu",
                                             on_step=losses.append)
    assert len(losses) == len(train) and predictions.shape == targets.shape == (256,)
    assert loss == pytest.approx(nn.functional.mse_loss(predictions, targets).item(), rel=1e-5)


def test_early_stopping_maximises_when_asked_and_never_stops_without_patience():
    model = Linear()
    stopper = EarlyStopping("valid_accuracy", patience=None, mode="max")
    for epoch, score in enumerate([0.5, 0.7, 0.6, 0.65, 0.4, 0.3], start=1):
        assert not stopper.step(epoch, {"valid_accuracy": score}, model)
    assert stopper.best_epoch == 2
    strict = EarlyStopping("valid_loss", patience=1)
    assert not strict.step(1, {"valid_loss": 1.0}, model) and strict.step(2, {"valid_loss": 1.5}, model)
    with pytest.raises(ValueError):
        EarlyStopping(mode="largest")


def test_lr_range_test_finds_a_minimum_and_restores_the_weights():
    train, _ = loaders()
    model = Linear()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    curve = lr_range_test(model, train, nn.functional.mse_loss, start=1e-4, end=10.0, steps=60, device="cpu")
    assert list(curve.columns) == ["lr", "loss"] and curve["lr"].is_monotonic_increasing
    best_lr = curve.loc[curve["loss"].idxmin(), "lr"]
    assert 1e-2 < best_lr < 10.0                       # the loss falls fastest well above the start
    assert curve["loss"].iloc[-1] > curve["loss"].min()  # and rises again (stopped on divergence or end)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_one_early_stopping_serves_two_runs():
    train, valid = loaders()
    stopper = EarlyStopping(patience=2)
    first = Linear()
    fit(first, train, valid, nn.functional.mse_loss, torch.optim.SGD(first.parameters(), lr=0.1), epochs=4,
        early_stopping=stopper, device="cpu", progress=False)
    second = Linear()
    history = fit(second, train, valid, nn.functional.mse_loss, torch.optim.SGD(second.parameters(), lr=1e-4),
                  epochs=2, early_stopping=stopper, device="cpu", progress=False)
    assert history.best_epoch in (1, 2)                # judged on its own run, not against the first's best
    assert not all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def test_fit_without_a_valid_loader_trains_the_same_steps_and_refuses_early_stopping():
    train, valid = loaders()
    torch.manual_seed(0)
    with_valid = Linear()
    torch.manual_seed(0)
    without = Linear()
    first = fit(with_valid, train, valid, nn.functional.mse_loss, torch.optim.SGD(with_valid.parameters(), lr=0.1),
                epochs=2, metrics={"mae": mae}, device="cpu", progress=False)
    train, _ = loaders()                                # the same shuffling again
    second = fit(without, train, None, nn.functional.mse_loss, torch.optim.SGD(without.parameters(), lr=0.1),
                 epochs=2, metrics={"mae": mae}, device="cpu", progress=False)
    assert list(second.epochs.columns) == ["train_loss", "train_mae", "seconds"]
    assert second.steps == first.steps and second.best_epoch == 2
    with pytest.raises(ValueError, match="valid_loader"):
        fit(without, train, None, nn.functional.mse_loss, torch.optim.SGD(without.parameters(), lr=0.1), epochs=1,
            early_stopping=EarlyStopping(patience=1), device="cpu", progress=False)
