"""Run model code on ``torch.device("meta")`` and fail on every tensor left on the CPU.

CI has no GPU, so a tensor that a lesson builds on the CPU and then mixes with the model's tensors
(``torch.arange(T) < lengths`` with ``lengths`` on the device, say) raises only on a learner's CUDA
runtime. Here the model goes to the "meta" device (tensors with shapes and dtypes but no data), and a
``TorchFunctionMode`` watches every torch call:

* an op that mixes a meta tensor with a CPU tensor of one or more dimensions raises
  :class:`DeviceMixError` (an ``AssertionError``) naming the op and the tensors' devices and shapes;
  a 0-dim CPU tensor is allowed (CUDA accepts CPU scalars too), and so are the mixes CUDA accepts:
  indexing a device tensor with CPU index tensors, ``copy_``, ``pack_padded_sequence``'s CPU
  lengths and a ``PackedSequence``'s CPU ``batch_sizes``. Torch itself rejects many mixes with a
  ``RuntimeError`` ("Tensor on device cpu is not on the expected device meta!") and lets others through
  silently (``meta @ cpu``); both become ``DeviceMixError``.
* copying a meta tensor to the host (``.cpu()``, ``.to("cpu")``, ``.to(torch.device("cpu"))``,
  ``.numpy()``, ``.tolist()``, ``.item()``, ``float()``/``int()``/``bool()``, ``np.asarray``, an f-string)
  gives zeros of the right shape and dtype, so a whole predict or train function runs to its end.

Zeros are not data: a function that branches on values (a loss that must fall, lengths that must be
positive) sees zeros. ``pack_padded_sequence`` on a meta input gets its lengths clamped to at least 1,
since they are usually zeros copied from the device; a boolean mask on meta used as an index
(``hidden[keep]``) selects every position, since how many are true is data. Ops whose output size
depends on data (``nonzero``, ``masked_select``, hence ``nn.AdaptiveLogSoftmaxWithLoss``) cannot run
on meta at all: probe the code around them.

Use::

    from tests.device_harness import meta_model, run_on_meta
    run_on_meta(predict, meta_model(model), test_loader)
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

META = torch.device("meta")
_TORCH_DEVICE_ERROR = re.compile(
    r"expected device|same device|two devices|device type|is not on the expected device|"
    r"Expected .* to be on|Expected all tensors", re.IGNORECASE)
_SCALAR_CASTS = {"__float__": float, "__int__": int, "__index__": int, "__bool__": bool, "__complex__": complex}


_LEGAL_MIXES = (torch.Tensor.copy_, torch._C._VariableFunctions._pack_padded_sequence,
                torch._has_compatible_shallow_copy_type)

_PACKED = (torch.lstm, torch.gru, torch.rnn_tanh, torch.rnn_relu, torch._C._VariableFunctions._pad_packed_sequence)


class DeviceMixError(AssertionError):
    """An op mixed a tensor on the model's device ("meta") with a tensor left on the CPU."""


def meta_model(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every parameter and buffer on the meta device."""
    return copy.deepcopy(model).to(META)


def _name(func: Any) -> str:
    owner = getattr(func, "__objclass__", None)
    name = getattr(func, "__name__", None) or repr(func)
    if owner is not None:
        return f"torch.Tensor.{name}" if issubclass(torch.Tensor, owner) else f"{owner.__name__}.{name}"
    module = getattr(func, "__module__", None) or "torch"
    return f"{module}.{name}"


def _describe(tensor: torch.Tensor) -> str:
    return f"{tensor.device.type} {tuple(tensor.shape)}"


def _tensors(value: Any) -> list[torch.Tensor]:
    return [leaf for leaf in tree_flatten(value)[0] if isinstance(leaf, torch.Tensor)]


def _is_meta(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_meta


def _host_zeros(tensor: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.zeros(tensor.shape, dtype=dtype or tensor.dtype)


def _numpy_zeros(tensor: torch.Tensor) -> np.ndarray:
    return torch.zeros(tensor.shape, dtype=tensor.dtype).numpy()


def _to_target(args: tuple, kwargs: dict) -> tuple[torch.device | None, torch.dtype | None]:
    """The device and dtype of ``Tensor.to(*args[1:], **kwargs)``."""
    device, dtype, _, _ = torch._C._nn._parse_to(*args[1:], **kwargs)
    return (torch.device(device) if device is not None else None), dtype


def _select_all(index: Any) -> Any:
    """``index`` with every boolean mask on meta replaced by an all-true CPU mask (how many are true is data)."""
    if isinstance(index, torch.Tensor) and index.is_meta and index.dtype == torch.bool:
        return torch.ones(index.shape, dtype=torch.bool)
    if isinstance(index, tuple):
        return tuple(_select_all(item) for item in index)
    return index


class MetaDeviceMode(TorchFunctionMode):
    """The torch-function mode of :func:`run_on_meta` (see the module's docstring)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        host = self._host_copy(func, args, kwargs)
        if host is not None:
            return host[0]
        self._check_mix(func, args, kwargs)
        if func is torch._C._VariableFunctions._pack_padded_sequence and _is_meta(args[0]):
            args = (args[0], args[1].clamp(min=1), *args[2:])
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__) and _is_meta(args[0]):
            args = (args[0], _select_all(args[1]), *args[2:])
        try:
            return func(*args, **kwargs)
        except RuntimeError as error:
            if _TORCH_DEVICE_ERROR.search(str(error)) and any(t.is_meta for t in _tensors((args, kwargs))):
                devices = ", ".join(_describe(t) for t in _tensors((args, kwargs)))
                raise DeviceMixError(f"{_name(func)} mixes devices ({devices}): {error}") from error
            raise

    @staticmethod
    def _host_copy(func, args: tuple, kwargs: dict) -> tuple[Any] | None:
        """``(zeros,)`` when ``func`` copies a meta tensor to the host, else None."""
        if not args or not _is_meta(args[0]):
            return None
        tensor = args[0]
        if func is torch.Tensor.cpu:
            return (_host_zeros(tensor),)
        if func is torch.Tensor.to:
            device, dtype = _to_target(args, kwargs)
            return (_host_zeros(tensor, dtype),) if device is not None and device.type == "cpu" else None
        if func in (torch.as_tensor, torch.asarray):
            device = kwargs.get("device")
            if device is not None and torch.device(device).type == "cpu":
                return (_host_zeros(tensor, kwargs.get("dtype")),)
            return None
        if func is torch.Tensor.numpy:
            return (_numpy_zeros(tensor),)
        if func is torch.Tensor.__array__:
            array = _numpy_zeros(tensor)
            dtype = args[1] if len(args) > 1 else kwargs.get("dtype")
            return (array.astype(dtype) if dtype is not None else array,)
        if func is torch.Tensor.tolist:
            return (_host_zeros(tensor).tolist(),)
        if func is torch.Tensor.item:
            return (_host_zeros(tensor).item(),)
        name = getattr(func, "__name__", "")
        if name in _SCALAR_CASTS and getattr(func, "__objclass__", torch.Tensor) in (torch.Tensor, torch._C.TensorBase):
            return (_SCALAR_CASTS[name](_host_zeros(tensor).item()),)
        if func is torch.Tensor.__format__ and tensor.dim() == 0:
            return (format(_host_zeros(tensor).item(), args[1] if len(args) > 1 else ""),)
        return None

    @staticmethod
    def _check_mix(func, args: tuple, kwargs: dict) -> None:
        """Raise :class:`DeviceMixError` when ``func`` mixes meta tensors with non-scalar CPU ones."""
        if func in _LEGAL_MIXES or getattr(func, "__name__", "") == "__set__":   # a transfer, or `param.data = ...`
            return
        checked: tuple = (args, kwargs)
        if func is torch.Tensor.__getitem__ and _is_meta(args[0]):
            checked = (args[0],)                  # CPU index tensors are fine for a device tensor
        elif func in _PACKED and len(args) > 1 and isinstance(args[1], torch.Tensor):
            checked = (args[0], args[2:], kwargs)   # a PackedSequence's batch_sizes live on the CPU by design
        elif func is torch.Tensor.__setitem__ and _is_meta(args[0]):
            index_tensors = _tensors(args[1])
            checked = (args[0], args[2]) if index_tensors else (args[0],)   # slice assignment copies
        tensors = _tensors(checked)
        meta = [t for t in tensors if t.is_meta]
        host = [t for t in tensors if t.device.type == "cpu" and t.dim() > 0]
        if meta and host:
            raise DeviceMixError(
                f"{_name(func)} mixes a tensor on the model's device ({_describe(meta[0])}) with one left on "
                f"the CPU ({_describe(host[0])}): build it on the model's device (device=..., .to(device))")


def run_on_meta(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` under :class:`MetaDeviceMode`; put the model on meta first (:func:`meta_model`)."""
    with MetaDeviceMode():
        return fn(*args, **kwargs)


__all__ = ["META", "DeviceMixError", "MetaDeviceMode", "meta_model", "run_on_meta"]
