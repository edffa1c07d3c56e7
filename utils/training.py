"""A plain PyTorch training loop shared by the lessons: fit, evaluate, predict, plot.

Batch convention. A batch from the ``DataLoader`` is either

* a pair ``(inputs, targets)``, where ``inputs`` is a tensor (``model(inputs)``), a tuple or list
  (``model(*inputs)``) or a dict of keyword arguments (``model(**inputs)``); or
* a dict holding the targets under ``"target"`` and the model's keyword arguments under every
  other key: ``model(**{k: v for k, v in batch.items() if k != "target"})``.

Tensors anywhere in a batch are moved to the device. The model returns predictions, the loss
function is called as ``loss_fn(predictions, targets)`` and returns a scalar mean over the batch,
and every metric is called as ``metric(predictions, targets) -> float`` on the predictions of a
whole epoch concatenated along dimension 0 (so a mean absolute error is exact, not a mean of batch
means).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and targets of a whole loader, concatenated, on the CPU (model in eval mode)."""
    device = device or get_device()
    model.eval()
    predictions, targets = [], []
    for batch in loader:
        inputs, target = split_batch(to_device(batch, device))
        predictions.append(forward(model, inputs).detach().cpu())
        targets.append(target.detach().cpu())
    return torch.cat(predictions), torch.cat(targets)


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    metrics: Mapping[str, Metric] | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Loss (mean over examples) and metrics of ``model`` on ``loader``: ``{"loss": ..., name: ...}``.

    The loss is computed on ``device``, as in training (a loss holding tensors, such as class
    weights, lives there); the metrics on the CPU.
    """
    device = device or get_device()
    predictions, targets = predict(model, loader, device)
    with torch.no_grad():  # a loss with parameters (e.g. an adaptive softmax) needs no graph here
        scores = {"loss": float(loss_fn(predictions.to(device), targets.to(device)))}
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


def train_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    max_grad_norm: float | None = None,
    device: torch.device | str | None = None,
    on_step: Callable[[float], None] | None = None,
) -> tuple[float, torch.Tensor, torch.Tensor]:
    """One pass over ``loader`` in train mode: forward, loss, ``zero_grad``, ``backward``, ``step``.

    The scheduler (if any) steps after every optimisation step; ``on_step(loss)`` is called after
    each. Returns the mean loss over the examples and the epoch's predictions and targets (CPU).
    """
    device = device or get_device()
    model.train()
    total, count, predictions, targets = 0.0, 0, [], []
    for batch in loader:
        inputs, target = split_batch(to_device(batch, device))
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
        total += value * len(target)
        count += len(target)
        predictions.append(prediction.detach().cpu())
        targets.append(target.detach().cpu())
        if on_step is not None:
            on_step(value)
    return total / max(count, 1), torch.cat(predictions), torch.cat(targets)


class EarlyStopping:
    """Watches one column of the epoch table; says when to stop and keeps the best weights.

    Args:
        monitor: a column of ``History.epochs``, e.g. ``"valid_loss"`` or ``"valid_accuracy"``.
        patience: stop after this many epochs without improvement; ``None`` never stops early but
            still restores the best epoch's weights at the end.
        mode: ``"min"`` when lower is better (losses, errors), ``"max"`` when higher is (accuracy).
    """

    def __init__(self, monitor: str = "valid_loss", patience: int | None = 3, mode: str = "min") -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode is 'min' or 'max', not {mode!r}")
        if patience is not None and patience < 1:
            raise ValueError(f"patience is a positive number of epochs or None, not {patience!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.reset()

    def reset(self) -> None:
        """Forget what was seen: :func:`fit` calls this first, so one instance can serve several runs."""
        self.best_score, self.best_epoch, self.best_state, self.waited = None, 0, None, 0

    def improved(self, score: float) -> bool:
        if self.best_score is None:
            return True
        return score < self.best_score if self.mode == "min" else score > self.best_score

    def step(self, epoch: int, row: Mapping[str, float], model: nn.Module) -> bool:
        """Record ``epoch``'s scores; keep the weights if it is the best so far. True: stop now."""
        score = row[self.monitor]
        if self.improved(score):
            self.best_score, self.best_epoch, self.waited = score, epoch, 0
            self.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            self.waited += 1
        return self.patience is not None and self.waited >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights back into ``model``."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    valid_loader: Iterable | None,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    metrics: Mapping[str, Metric] | None = None,
    early_stopping: EarlyStopping | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    max_grad_norm: float | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    live_plot: bool = False,
    title: str | None = None,
) -> History:
    """Up to ``epochs`` of :func:`train_epoch`, each followed by :func:`evaluate` on ``valid_loader``.

    Args:
        valid_loader: ``None`` trains without evaluating (no ``valid_*`` columns, no early stopping).
        metrics: name -> ``metric(predictions, targets)``, computed every epoch (train: on the
            predictions made while training; valid: in eval mode) as ``train_<name>``/``valid_<name>``.
        early_stopping: an :class:`EarlyStopping`; the model ends with its best epoch's weights.
            ``None`` trains every epoch and keeps the last weights.
        scheduler, max_grad_norm: passed to :func:`train_epoch` (the scheduler steps every batch,
            e.g. ``OneCycleLR(optimizer, max_lr, total_steps=epochs * len(train_loader))``).
        device: where to train; ``utils.get_device()`` when ``None``. The model is moved there.
        progress: a ``tqdm`` bar over all steps with the mean loss of the last 500 steps.
        live_plot: in Jupyter, redraw the losses and metrics in place after every epoch.
    """
    if valid_loader is None and early_stopping is not None:
        raise ValueError("early stopping needs a valid_loader to monitor")
    device = device or get_device()
    model.to(device)
    metrics = dict(metrics or {})
    steps_per_epoch = len(train_loader) if hasattr(train_loader, "__len__") else None
    bar = tqdm(total=steps_per_epoch and steps_per_epoch * epochs, desc=title or "training",
               unit="step", disable=not progress)
    live = _LivePlot(list(metrics), title) if live_plot and _in_notebook() else None
    history = History(epochs=pd.DataFrame(), monitor=early_stopping.monitor if early_stopping else "valid_loss")
    if early_stopping is not None:
        early_stopping.reset()
    recent: deque[float] = deque(maxlen=500)
    rows: list[dict[str, float]] = []
    start = time.perf_counter()

    def on_step(value: float) -> None:
        history.steps.append(value)
        recent.append(value)
        bar.update(1)
        bar.set_postfix(epoch=len(rows) + 1, loss=f"{np.mean(recent):.4f}", refresh=False)

    for epoch in range(1, epochs + 1):
        train_loss, predictions, targets = train_epoch(
            model, train_loader, loss_fn, optimizer, scheduler=scheduler, max_grad_norm=max_grad_norm,
            device=device, on_step=on_step)
        row = {"epoch": epoch, "train_loss": train_loss}
        row.update({f"train_{name}": float(metric(predictions, targets)) for name, metric in metrics.items()})
        if valid_loader is not None:
            scores = evaluate(model, valid_loader, loss_fn, metrics, device)
            row.update({f"valid_{name}": value for name, value in scores.items()})
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        history.epochs = pd.DataFrame(rows).set_index("epoch")
        history.best_epoch = epoch
        stop = early_stopping is not None and early_stopping.step(epoch, row, model)
        if early_stopping is not None:
            history.best_epoch = early_stopping.best_epoch
        if live is not None:
            live.update(history)
        if stop:
            break

    bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
    return history


def lr_range_test(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    start: float = 1e-5,
    end: float = 1.0,
    steps: int = 100,
    beta: float = 0.9,
    device: torch.device | str | None = None,
    make_optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.AdamW,
) -> pd.DataFrame:
    """Leslie Smith's learning-rate range test (fastai's ``lr_find``); the model's weights are restored.

    Trains for up to ``steps`` steps while the learning rate grows exponentially from ``start`` to
    ``end``, recording the exponentially smoothed, bias-corrected loss; stops once that loss exceeds
    4 times its minimum. Returns a frame with columns ``lr`` and ``loss``. A good peak rate for
    one-cycle training sits below the loss's minimum, where it still falls steeply.
    """
    device = device or get_device()
    model.to(device)
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], lr=start)
    factor = (end / start) ** (1 / max(steps - 1, 1))
    rows, smoothed, best = [], 0.0, math.inf
    model.train()
    batches = iter(loader)
    for step in tqdm(range(steps), desc="LR range test"):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        lr = start * factor**step
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, target = split_batch(to_device(batch, device))
        loss = loss_fn(forward(model, inputs), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        smoothed = beta * smoothed + (1 - beta) * loss.item()
        value = smoothed / (1 - beta ** (step + 1))
        rows.append({"lr": lr, "loss": value})
        best = min(best, value)
        if not math.isfinite(value) or value > 4 * best:
            break
    model.load_state_dict(saved)
    return pd.DataFrame(rows)


__all__ = [
    "EarlyStopping", "History", "evaluate", "fit", "forward", "lr_range_test", "plot_history", "predict",
    "split_batch", "to_device", "train_epoch",
]
