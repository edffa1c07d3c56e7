"""utils.language_model: tokenizer, vocabulary, a tiny AWD-LSTM that learns, and the checkpoint cache."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from utils import language_model as lm

TEXTS = ["this is great , i love it !", "terrible product . don't buy it", "works as described , great value"] * 40
# The real configuration's learning rate: at this rate the former uniform(-0.1, 0.1) embedding init left the
# tied model stuck at the unigram perplexity (16.7 here, 450 on the real corpus).
TINY = lm.LMConfig(max_vocab=100, min_freq=1, emb_dim=16, hidden_dim=24, steps=150, batch_size=4, bptt=8,
                   corpus={"test": True})


def test_tokenize_keeps_negations_and_symbols():
    assert lm.tokenize("Great value, DON'T miss it!! 5 stars") == [
        "great", "value", ",", "don't", "miss", "it", "!", "!", "5", "stars"]


def test_vocab_specials_min_freq_and_unknown_default():
    vocab = lm.Vocab.build([["a", "a", "b", "c", "c", "c"]], min_freq=2)
    assert vocab.itos == [lm.UNK, lm.PAD, lm.EOS, "c", "a"]
    assert vocab.encode(["c", "b", "zzz"]) == [3, 0, 0]
    with pytest.raises(ValueError):
        lm.Vocab(["a", "b"])


def test_stream_batches_targets_are_the_next_token():
    ids = torch.arange(41)
    batches = list(lm.stream_batches(ids, batch_size=4, bptt=3))
    x, y = batches[0]
    assert x.shape == (4, 3) and torch.equal(y, x + 1)
    assert torch.equal(batches[1][0][:, 0], x[:, -1] + 1)   # row i continues row i


def test_weight_dropout_changes_training_outputs_only():
    torch.manual_seed(0)
    layer = lm.WeightDropLSTM(5, 7, weight_p=0.5)
    x = torch.randn(2, 6, 5)
    layer.eval()
    assert torch.allclose(layer(x)[0], layer.lstm(x)[0])
    layer.train()
    assert not torch.allclose(layer(x)[0], layer.lstm(x)[0])
    layer(x)[0].sum().backward()
    assert layer.lstm.weight_hh_l0.grad is not None and layer.lstm.weight_hh_l0.grad.abs().sum() > 0


def unigram_perplexity(ids: torch.Tensor) -> float:
    """The perplexity of predicting every next token from its frequency alone (no context)."""
    counts = torch.bincount(ids[1:]).float()
    p = counts[counts > 0] / counts.sum()
    return math.exp(-(p * p.log()).sum().item())


def test_tiny_model_learns_and_weights_are_tied():
    torch.manual_seed(0)
    model, vocab, info = lm.pretrain(TINY, TEXTS, progress=False)
    assert model.decoder.weight is model.encoder.embedding.weight
    ids = lm.encode_corpus(TEXTS, vocab)
    untrained = lm.LanguageModel(len(vocab), TINY)
    assert lm.perplexity(model, ids, 4, 8) < 0.25 * lm.perplexity(untrained, ids, 4, 8)   # the loss fell
    assert lm.perplexity(model, ids, 4, 8) < 0.25 * unigram_perplexity(ids)   # ... below word frequencies: context used
    assert info["tokens"] == len(ids) and info["vocab"] == len(vocab)
    text = lm.generate(model, vocab, "this is", n_tokens=5, generator=torch.Generator().manual_seed(0))
    assert text.startswith("this is")


def test_save_load_round_trip_and_stale_fingerprint_is_rebuilt(tmp_path):
    path = tmp_path / "models" / "lm.pt"
    torch.manual_seed(0)
    model, vocab, info, cached = lm.load_or_pretrain(path, TINY, TEXTS, progress=False)
    assert not cached and path.is_file() and json.loads(path.with_suffix(".json").read_text())["fingerprint"]
    loaded, loaded_vocab, loaded_info, cached = lm.load_or_pretrain(path, TINY, progress=False)
    assert cached and loaded_vocab.itos == vocab.itos and loaded_info == info
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])

    changed = replace(TINY, hidden_dim=20)
    assert changed.fingerprint() != TINY.fingerprint()
    with pytest.raises(lm.StaleCheckpointError):
        lm.load_lm(path, changed)
    rebuilt, _, _, cached = lm.load_or_pretrain(path, changed, TEXTS, progress=False)
    assert not cached and rebuilt.encoder.layers[0].lstm.hidden_size == 20
    assert lm.load_lm(path, changed)[0].encoder.layers[0].lstm.hidden_size == 20


def test_a_damaged_checkpoint_is_refused_before_loading(tmp_path):
    path = tmp_path / "lm.pt"
    torch.manual_seed(0)
    model, vocab, _ = lm.pretrain(replace(TINY, steps=2), TEXTS, progress=False)
    lm.save_lm(path, model, vocab, replace(TINY, steps=2))
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(lm.StaleCheckpointError, match="sha256"):
        lm.load_lm(path, replace(TINY, steps=2))
    with pytest.raises(FileNotFoundError, match="make lm"):
        lm.load_lm(tmp_path / "missing.pt", TINY)
