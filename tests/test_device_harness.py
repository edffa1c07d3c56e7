"""The meta-device harness (tests/device_harness.py): it catches a tensor left on the CPU and runs clean code."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.device_harness import DeviceMixError, meta_model, run_on_meta


class Pooler(nn.Module):
    """A tiny model whose forward masks padded positions: the spot where CPU tensors sneak in."""

    def __init__(self, lengths_on_device: bool):
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.lengths_on_device = lengths_on_device

    def forward(self, x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        device = self.linear.weight.device
        lengths = torch.tensor(lengths, device=device if self.lengths_on_device else None)
        mask = torch.arange(x.size(1), device=device)[None, :] < lengths[:, None]
        return self.linear((x * mask[..., None]).sum(1))


def predict(model: nn.Module, x: torch.Tensor, lengths: list[int]) -> np.ndarray:
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(x.to(device), lengths).argmax(1).cpu().numpy()


def test_a_cpu_lengths_tensor_compared_with_a_device_arange_raises():
    model = meta_model(Pooler(lengths_on_device=False))
    with pytest.raises(DeviceMixError, match="lt|mixes"):
        run_on_meta(predict, model, torch.randn(3, 5, 4), [5, 2, 1])


def test_lengths_built_on_the_model_device_pass_and_host_copies_are_zeros():
    model = meta_model(Pooler(lengths_on_device=True))
    out = run_on_meta(predict, model, torch.randn(3, 5, 4), [5, 2, 1])
    assert isinstance(out, np.ndarray) and out.shape == (3,) and out.dtype == np.int64 and not out.any()
    assert next(model.parameters()).is_meta


def test_the_same_code_runs_on_the_cpu():
    out = predict(Pooler(lengths_on_device=False), torch.randn(3, 5, 4), [5, 2, 1])
    assert out.shape == (3,)


def test_a_train_step_on_meta_parameters_runs():
    model = meta_model(nn.Sequential(nn.Embedding(10, 4), nn.LSTM(4, 3, batch_first=True)))
    head = nn.Linear(3, 2).to("meta")
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)

    def step(ids: torch.Tensor, targets: torch.Tensor) -> float:
        device = head.weight.device
        outputs, _ = model(ids.to(device))
        loss = nn.functional.cross_entropy(head(outputs[:, -1]), targets.to(device))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_([*model.parameters(), *head.parameters()], 1.0)
        optimizer.step()
        return loss.item()

    assert run_on_meta(step, torch.randint(0, 10, (2, 6)), torch.tensor([0, 1])) == 0.0
    assert run_on_meta(lambda: f"{step(torch.randint(0, 10, (2, 6)), torch.tensor([0, 1])):.3f}") == "0.000"


def test_targets_left_on_the_cpu_raise():
    head = nn.Linear(3, 2).to("meta")
    with pytest.raises(DeviceMixError, match="cross_entropy|mixes"):
        run_on_meta(lambda: nn.functional.cross_entropy(head(torch.zeros(2, 3, device="meta")), torch.tensor([0, 1])))


@pytest.mark.parametrize("mix", [
    lambda m, c: m + c,                        # torch raises a RuntimeError: converted
    lambda m, c: m @ c.T,                      # torch lets this one through silently
    lambda m, c: torch.cat([m, c]),
    lambda m, c: torch.where(c > 0, m, c),
    lambda m, c: m.masked_fill(c.bool(), 0.0),
], ids=["add", "matmul", "cat", "where", "masked_fill"])
def test_every_kind_of_mix_raises(mix):
    with pytest.raises(DeviceMixError):
        run_on_meta(mix, torch.zeros(3, 4, device="meta"), torch.ones(3, 4))


def test_what_cuda_accepts_passes():
    meta = torch.zeros(3, 4, device="meta")

    def legal():
        meta * torch.tensor(2.0)                               # a CPU scalar
        meta[torch.tensor([0, 2])]                             # a CPU index tensor
        meta[torch.tensor([True, False, True])]
        assert meta[meta.sum(1) > 0].shape == (3, 4)           # a meta mask selects everything
        meta[0:1] = torch.ones(1, 4)                           # slice assignment copies
        meta.copy_(torch.ones(3, 4))
        x = torch.zeros(2, 5, 4, device="meta")
        packed = nn.utils.rnn.pack_padded_sequence(x, x.new_ones(2, 5).sum(1).cpu(), batch_first=True,
                                                   enforce_sorted=False)
        outputs, _ = nn.LSTM(4, 3, batch_first=True).to("meta")(packed)
        return nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=5)[0]

    assert run_on_meta(legal).shape == (2, 5, 3)


def test_host_copies_have_the_right_shape_and_dtype():
    meta = torch.zeros(2, 3, dtype=torch.int64, device="meta")

    def copies():
        return (meta.cpu(), meta.to("cpu"), meta.to(torch.device("cpu"), torch.float32), meta.numpy(), meta.tolist(),
                meta.sum().item(), float(meta.sum()), int(meta.sum()), np.asarray(meta))

    cpu, to, to_float, array, listed, item, as_float, as_int, asarray = run_on_meta(copies)
    assert cpu.device.type == "cpu" and cpu.shape == (2, 3) and cpu.dtype == torch.int64
    assert to.dtype == torch.int64 and to_float.dtype == torch.float32 and to_float.device.type == "cpu"
    assert array.shape == (2, 3) and array.dtype == np.int64 and asarray.shape == (2, 3)
    assert listed == [[0, 0, 0], [0, 0, 0]] and item == 0 and as_float == 0.0 and as_int == 0
