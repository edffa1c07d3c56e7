"""A plain PyTorch training loop shared by the lessons: fit, evaluate, predict, plot.

Batch convention. A batch from the ``DataLoader`` is either

* a pair ``(inputs, targets)``, where ``inputs`` is a tensor (``model(inputs)``), a tuple or list
  (``model(*inputs)``) or a dict of keyword arguments (``model(**inputs)``); or
* a dict holding the targets under ``target_key`` (default ``"target"``) and the model's keyword
  arguments under every other key: ``model(**{k: v for k, v in batch.items() if k != target_key})``.

Tensors anywhere in a batch are moved to the device. The model returns predictions, the loss
function is called as ``loss_fn(predictions, targets)`` and returns a scalar mean over the batch,
and every metric is called as ``metric(predictions, targets) -> float`` on the predictions of a
whole epoch concatenated along dimension 0 (so a mean absolute error is exact, not a mean of batch
means).
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn
from tqdm.auto import tqdm

from .reproducibility import get_device

Metric = Callable[[torch.Tensor, torch.Tensor], float]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """What :func:`fit` measured.

    Attributes:
        epochs: one row per epoch (index ``epoch``, from 1): ``train_loss``, ``valid_loss``,
            ``train_<metric>`` and ``valid_<metric>`` for every metric, and ``seconds`` (cumulative).
        steps: the training loss of every optimisation step, in order.
        best_epoch: the epoch whose weights the model holds at the end (the best on the monitored
            column when early stopping is on, else the last epoch).
        monitor: the column that early stopping watched.
    """

    epochs: pd.DataFrame
    steps: list[float] = field(default_factory=list)
    best_epoch: int = 0
    monitor: str = "valid_loss"

    @property
    def best(self) -> pd.Series:
        """The row of the best epoch."""
        return self.epochs.loc[self.best_epoch]


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor in a (nested) tuple, list or dict to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(value, device) for value in batch)
    return batch


def split_batch(batch: Any, target_key: str = "target") -> tuple[Any, torch.Tensor]:
    """Return ``(inputs, targets)`` from a batch in either of the two conventions above."""
    if isinstance(batch, Mapping):
        inputs = {key: value for key, value in batch.items() if key != target_key}
        return inputs, batch[target_key]
    inputs, targets = batch
    return inputs, targets


def forward(model: nn.Module, inputs: Any) -> torch.Tensor:
    """Call ``model`` on ``inputs``: a dict as keyword arguments, a tuple/list as positional ones."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    target_key: str = "target",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and targets of a whole loader, concatenated, on the CPU (model in eval mode)."""
    device = device or get_device()
    model.eval()
    predictions, targets = [], []
    for batch in loader:
        inputs, target = split_batch(to_device(batch, device), target_key)
        predictions.append(forward(model, inputs).detach().cpu())
        targets.append(target.detach().cpu())
    return torch.cat(predictions), torch.cat(targets)


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    metrics: Mapping[str, Metric] | None = None,
    device: torch.device | str | None = None,
    target_key: str = "target",
) -> dict[str, float]:
    """Loss (mean over examples) and metrics of ``model`` on ``loader``: ``{"loss": ..., name: ...}``."""
    predictions, targets = predict(model, loader, device, target_key)
    with torch.no_grad():  # a loss with parameters (e.g. an adaptive softmax) needs no graph here
        scores = {"loss": float(loss_fn(predictions, targets))}
    for name, metric in (metrics or {}).items():
        scores[name] = float(metric(predictions, targets))
    return scores


def plot_history(
    history: History | pd.DataFrame,
    metrics: Iterable[str] | None = None,
    fig: Figure | None = None,
    title: str | None = None,
    log_scale: bool = True,
) -> Figure:
    """Train/valid loss and every metric against the epoch, one panel each; returns the figure.

    ``fig`` is cleared and reused when given (that is how the live plot redraws). The best epoch is
    marked with a dotted line. ``log_scale`` puts the y axes on a log scale, so the first epochs'
    large losses do not flatten the rest of the curve.
    """
    frame = history.epochs if isinstance(history, History) else history
    if metrics is None:
        metrics = sorted({c.removeprefix("valid_") for c in frame if c.startswith("valid_")} - {"loss"})
    panels = ["loss", *metrics]
    if fig is None:
        fig = plt.figure(figsize=(4.2 * len(panels), 3.2))
    fig.clear()
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, name in zip(axes, panels):
        for split, style in (("train", "-o"), ("valid", "-s")):
            column = f"{split}_{name}"
            if column in frame:
                ax.plot(frame.index, frame[column], style, markersize=3, label=split)
        if isinstance(history, History) and history.best_epoch:
            ax.axvline(history.best_epoch, color="grey", linestyle=":", label="best epoch")
        ax.set(xlabel="epoch", title=name, yscale="log" if log_scale else "linear")
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class _LivePlot:
    """One figure in the notebook, redrawn in place every epoch through an IPython display handle.

    The figure is a bare ``matplotlib.figure.Figure`` (not registered with pyplot), so the inline
    backend does not show it a second time when the cell ends: the saved notebook holds exactly one
    figure, the final one.
    """

    def __init__(self, metrics: list[str], title: str | None) -> None:
        from IPython.display import display

        self.metrics, self.title = metrics, title
        self.fig = Figure(figsize=(4.2 * (1 + len(metrics)), 3.2))
        self.handle = display(self.fig, display_id=True)

    def update(self, history: History) -> None:
        plot_history(history, self.metrics, fig=self.fig, title=self.title)
        if self.handle is not None:
            self.handle.update(self.fig)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def fit(
    model: nn.Module,
    train_loader: Iterable,
    valid_loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    metrics: Mapping[str, Metric] | None = None,
    patience: int | None = None,
    monitor: str = "valid_loss",
    device: torch.device | str | None = None,
    target_key: str = "target",
    smoothing: int = 500,
    progress: bool = True,
    live_plot: bool = False,
    title: str | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    max_grad_norm: float | None = None,
) -> History:
    """Train ``model`` for up to ``epochs`` epochs, validating after each; return the :class:`History`.

    Args:
        model: any ``nn.Module``; it is moved to ``device``.
        train_loader, valid_loader: iterables of batches (see the module docstring).
        loss_fn: ``loss_fn(predictions, targets)`` -> scalar tensor, the mean over the batch.
        optimizer: built over ``model.parameters()``.
        epochs: the most epochs to run.
        metrics: name -> ``metric(predictions, targets)``, computed every epoch on the predictions
            of the epoch (train: those made while training, in train mode; valid: in eval mode).
        patience: stop after this many epochs without improvement of ``monitor`` and restore the
            best epoch's weights; ``None`` trains every epoch and keeps the last weights.
        monitor: the column of ``History.epochs`` to minimise, e.g. ``"valid_loss"`` or ``"valid_mae"``.
        device: where to train; ``utils.get_device()`` when ``None``.
        target_key: the targets' key when batches are dicts.
        smoothing: the progress bar shows the mean loss of the last ``smoothing`` steps.
        progress: show a ``tqdm.auto`` bar over all steps.
        live_plot: in Jupyter, draw the losses and metrics and redraw them every epoch in place.
        title: title of the live plot.
        scheduler: a learning-rate scheduler stepped after every optimisation step (not every
            epoch), e.g. ``OneCycleLR(optimizer, max_lr, total_steps=epochs * len(train_loader))``.
        max_grad_norm: clip the gradients' global norm to this before each step (LSTMs like it).
    """
    device = device or get_device()
    model.to(device)
    metrics = dict(metrics or {})
    steps_per_epoch = len(train_loader) if hasattr(train_loader, "__len__") else None
    bar = tqdm(total=steps_per_epoch and steps_per_epoch * epochs, desc=title or "training",
               unit="step", disable=not progress)
    live = _LivePlot(list(metrics), title) if live_plot and _in_notebook() else None
    history = History(epochs=pd.DataFrame(), monitor=monitor)
    recent: deque[float] = deque(maxlen=smoothing)
    rows: list[dict[str, float]] = []
    best_score, best_state, waited = math.inf, None, 0
    start = time.perf_counter()

    for epoch in range(1, epochs + 1):
        model.train()
        total, count, predictions, targets = 0.0, 0, [], []
        for batch in train_loader:
            inputs, target = split_batch(to_device(batch, device), target_key)
            prediction = forward(model, inputs)
            loss = loss_fn(prediction, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()

            value = loss.item()
            history.steps.append(value)
            recent.append(value)
            total += value * len(target)
            count += len(target)
            predictions.append(prediction.detach().cpu())
            targets.append(target.detach().cpu())
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{np.mean(recent):.4f}", refresh=False)

        row = {"epoch": epoch, "train_loss": total / max(count, 1)}
        train_predictions, train_targets = torch.cat(predictions), torch.cat(targets)
        for name, metric in metrics.items():
            row[f"train_{name}"] = float(metric(train_predictions, train_targets))
        scores = evaluate(model, valid_loader, loss_fn, metrics, device, target_key)
        row.update({f"valid_{name}": value for name, value in scores.items()})
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        history.epochs = pd.DataFrame(rows).set_index("epoch")

        score = row[monitor]
        if score < best_score:
            best_score, waited, history.best_epoch = score, 0, epoch
            if patience is not None:
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            waited += 1
        if patience is None:
            history.best_epoch = epoch
        if live is not None:
            live.update(history)
        if patience is not None and waited >= patience:
            break

    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    if live is not None:
        live.update(history)
    return history


__all__ = ["History", "evaluate", "fit", "forward", "plot_history", "predict", "split_batch", "to_device"]
