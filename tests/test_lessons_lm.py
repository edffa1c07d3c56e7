"""Lesson 05's language model, exported to utils.lessons from its #@save cells: tokenizer, vocabulary,
a tiny AWD-LSTM that learns, and the checkpoint cache (round trip, stale and damaged files refused)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from utils import lessons as lm
from utils.text import EOS, PAD, PAD_ID, UNK, UNK_ID, Vocab

TEXTS = ["this is great , i love it !", "terrible product . don't buy it", "works as described , great value"] * 40
# The real configuration's learning rate: at this rate the former uniform(-0.1, 0.1) embedding init left the
# tied model stuck at the unigram perplexity (16.7 here, 450 on the real corpus).
TINY = lm.LMConfig(max_vocab=100, min_freq=1, emb_dim=16, hidden_dim=24, steps=150, batch_size=4, bptt=8,
                   corpus={"test": True})


def test_tokenize_keeps_negations_and_symbols():
    assert lm.tokenize("Great value, DON'T miss it!! 5 stars") == [
        "great", "value", ",", "don't", "miss", "it", "!", "!", "5", "stars"]
    assert lm.review_text("Nice", "Works well.") == "Nice. Works well."


def test_the_default_config_is_the_cached_models():
    """The fingerprint names the checkpoint `make lm` built: a change here means pre-training again."""
    config = lm.LMConfig()
    assert config.specials == (PAD, UNK, EOS) and config.corpus == lm.CORPUS
    assert config.fingerprint() == "b2c4ca1665fc09c0"
    assert replace(config, steps=1).fingerprint() != config.fingerprint()


def test_vocab_with_eos_puts_pad_unk_eos_first_and_defaults_to_unk():
    vocab = Vocab.build([["a", "a", "b", "c", "c", "c"]], min_freq=2, eos=True)
    assert vocab.itos == [PAD, UNK, EOS, "c", "a"]
    assert vocab.encode(["c", "b", "zzz"]) == [3, UNK_ID, UNK_ID]
    ids = lm.encode_corpus(["c a", "a"], vocab)
    assert ids.tolist() == [3, 4, 2, 4, 2]   # each text ends with <eos>
    with pytest.raises(ValueError):
        Vocab(["a", "b"])


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


def test_detach_cuts_the_graph_but_keeps_the_state():
    h = torch.ones(1, 2, 3, requires_grad=True) * 2
    state = lm.detach([(h, h + 1)])
    assert not state[0][0].requires_grad and torch.equal(state[0][1], h.detach() + 1)


def unigram_perplexity(ids: torch.Tensor) -> float:
    """The perplexity of predicting every next token from its frequency alone (no context)."""
    counts = torch.bincount(ids[1:]).float()
    p = counts[counts > 0] / counts.sum()
    return math.exp(-(p * p.log()).sum().item())


def test_tiny_model_learns_and_weights_are_tied():
    torch.manual_seed(0)
    model, vocab, info = lm.pretrain(TINY, TEXTS, progress=False)
    assert vocab.itos[:3] == [PAD, UNK, EOS] and model.encoder.embedding.padding_idx == PAD_ID
    assert model.decoder.weight is model.encoder.embedding.weight
    ids = lm.encode_corpus(TEXTS, vocab)
    untrained = lm.AWDLSTMLanguageModel(len(vocab), TINY)
    assert lm.perplexity(model, ids, 4, 8) < 0.25 * lm.perplexity(untrained, ids, 4, 8)   # the loss fell
    assert lm.perplexity(model, ids, 4, 8) < 0.25 * unigram_perplexity(ids)   # ... below word frequencies: context used
    assert info["tokens"] == len(ids) and info["vocab"] == len(vocab)
    text = lm.generate(model, vocab, "this is", n_tokens=5, generator=torch.Generator().manual_seed(0))
    assert text.startswith("this is") and UNK not in text


@pytest.mark.slow  # 13-22 s on a 2-core CPU: it trains a small model twice
def test_save_load_round_trip_and_a_stale_fingerprint_is_refused(tmp_path):
    path = tmp_path / "models" / "lm.pt"
    torch.manual_seed(0)
    model, vocab, info = lm.pretrain(TINY, TEXTS, progress=False)
    lm.save_lm(path, model, vocab, TINY, info)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["fingerprint"] == TINY.fingerprint() and sidecar["info"] == info
    loaded, loaded_vocab, loaded_info = lm.load_lm(path, TINY)
    assert loaded_vocab.itos == vocab.itos and loaded_info == info
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])

    changed = replace(TINY, hidden_dim=20)
    assert changed.fingerprint() != TINY.fingerprint()
    with pytest.raises(lm.StaleCheckpointError, match="another configuration"):
        lm.load_lm(path, changed)
    rebuilt, rebuilt_vocab, _ = lm.pretrain(changed, TEXTS, progress=False)
    lm.save_lm(path, rebuilt, rebuilt_vocab, changed)
    assert lm.load_lm(path, changed)[0].encoder.layers[0].lstm.hidden_size == 20
    with pytest.raises(lm.StaleCheckpointError):
        lm.load_lm(path, TINY)


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
