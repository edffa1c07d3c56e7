"""Lesson 05 at reduced size, on the path Colab takes: no `make lm` cache, and every model on another device;
and its exercise checks against plausible wrong answers.

One run of the notebook (tests/notebook_probes.py). A probe hides the language-model cache, so section 2
pre-trains its short fallback in the notebook (the path of Colab and of a learner who skips `make lm`;
`make test`'s nbval run checks the cached path), on a small corpus. The device probes copy each model to
``torch.device("meta")`` and train or run it under tests/device_harness.py, which fails on any tensor the
lesson's code leaves on the CPU (on a CUDA runtime that tensor raises): the LSTM from scratch (its
``concat_pool``), ``lstm_predict``, the language model's training loop, perplexity and pre-training,
the ULMFiT classifier, MiniLM's frozen pass (``encode_frozen``, and ``utils.embed_texts`` of the latency
column), the fine-tuning of its top layers (``utils.fit`` on the cached, length-grouped batches), both of
its predict paths, and one run of section 4's label-budget curve (every approach trained and scored).
``generate`` samples from the model's probabilities, which meta tensors do not have, so it is left to
reading.

The mutants swap a wrong answer into each exercise region and expect its check cell to raise: a tokenizer
that keeps capitals or splits on spaces, a vocabulary without ``min_freq`` or with ``n > min_freq``, an
untruncated length, padding on the left, pooling over the padding, unfreezing from the bottom or with
rates that grow downwards, and MiniLM's attention reading the padding (no mask, the mask inverted, or
the mask over the queries instead of the pieces attended to).
"""

from __future__ import annotations

import pytest

from tests.notebook_probes import Mutant, Probe, run_lesson

OVERRIDES = """
TRAIN_ROWS = 1_200
VALID_ROWS = 200
TEST_ROWS = 300
HIDDEN = 32
SCRATCH_EPOCHS = 1
LR_RANGE_STEPS = 8
LM_FINETUNE_STEPS = 8
FALLBACK_PRETRAIN_STEPS = 8
UNFREEZE_EPOCHS = [1, 1, 1]
CLASSIFIER_RANGE_STEPS = 4
TFIDF_CS = [4.0]
HEAD_CS = [2.0]
MINILM_MAX_LEN = 32
MINILM_BATCH_SIZE = 32
MINILM_RANGE_STEPS = 3
PLATEAU_STEPS = 8
LABEL_BUDGETS = [100]
LSTM_SEEDS = 2
CURVE_MIN_STEPS = 40
LATENCY_REVIEWS = 2
"""

HARNESS = """
from tests.device_harness import META, meta_model, run_on_meta


def few(loader, rows=64):
    return DataLoader(torch.utils.data.Subset(loader.dataset, range(rows)), batch_size=32)


def meta_fit(model, train, valid):
    model = meta_model(model)
    utils.fit(model, few(train), few(valid), nn.CrossEntropyLoss(), torch.optim.AdamW(model.parameters()), 1,
              metrics={"accuracy": utils.accuracy}, max_grad_norm=MAX_GRAD_NORM, device=META, progress=False,
              early_stopping=utils.EarlyStopping(patience=None))
    logits, _ = utils.predict(model, few(valid), META)
    assert logits.shape == (64, 2) and logits.device.type == "cpu"
"""

PROBES = [
    Probe("harness", "class ReviewDataset", HARNESS),
    Probe("a small corpus", "CORPUS = {",
          'CORPUS = {"amazon_qa": ["Appliances"], "amazon_qa_multi": ["Video_Games"], "polarity_train_rows": 300}'),
    Probe("no make lm cache", "def default_lm_path", "default_lm_path = lambda: Path('/nonexistent/awd_lstm.pt')"),
    Probe("LSTM from scratch on meta", "scratch = LSTMClassifier(glove_matrix)",
          "run_on_meta(meta_fit, scratch, train_loader, valid_loader)"),
    Probe("pre-training on the model's device", "def pretrain(", """
texts = [review_text(title, text) for title, text in zip(train_df["title"][:100], train_df["text"][:100])]
model, _, _ = run_on_meta(pretrain, replace(LMConfig(), steps=2, batch_size=4, bptt=8), texts, progress=False,
                          device=META)
assert next(model.parameters()).is_meta
"""),
    Probe("language model on meta", "lm_train_ids = encode_corpus", """
lm_meta = meta_model(language_model)
run_on_meta(train_lm, lm_meta, lm_train_ids[:4_000].to(META), steps=2, lr=1e-3, batch_size=4, bptt=16, progress=False)
assert run_on_meta(perplexity, lm_meta, lm_valid_ids[:2_000].to(META), batch_size=4, bptt=16) == 1.0   # exp(0)
"""),
    Probe("ULMFiT classifier on meta", "lm_classifier = AWDLSTMClassifier(",
          "run_on_meta(meta_fit, lm_classifier, lm_train_loader, lm_valid_loader)"),
    Probe("MiniLM on meta", "minilm_top = TopLayers(minilm)", """
logits = run_on_meta(meta_model(minilm_top), batch["states"].to(META), batch["attention_mask"].to(META))
assert logits.is_meta and logits.shape == (len(check_rows), 2)
vectors = run_on_meta(utils.embed_texts, train_df["review"].head(4).tolist(), hf_tokenizer, meta_model(minilm),
                      max_length=32, progress=False)
assert vectors.shape == (4, minilm.config.hidden_size)
saved = minilm, device
minilm, device = meta_model(minilm), META
try:
    vectors, states = run_on_meta(encode_frozen, pieces["valid"][:4])
finally:
    minilm, device = saved
assert vectors.shape == (4, minilm.config.hidden_size) and states[0].device.type == "cpu"
"""),
    Probe("MiniLM fine-tuning on meta", "def minilm_finetuned_predict(", """
model = meta_model(minilm_top)
saved = minilm, minilm_top, device
minilm, minilm_top, device = meta_model(minilm), model, META
try:
    run_on_meta(fit_top_layers, model, cached_loader(cached_train[:32], train_df["y"][:32]),
                cached_loader(cached_valid[:32], valid_df["y"][:32]), 1, progress=False)
    cached_predictions = run_on_meta(top_layers_predict, model, cached_test[:5])
    predictions = run_on_meta(minilm_finetuned_predict, test_df["review"].head(5).tolist())
finally:
    minilm, minilm_top, device = saved
assert predictions.shape == cached_predictions.shape == (5,)
"""),
    Probe("label-budget runs on meta", "def label_budget_run(", """
saved = device, language_model, minilm
device, language_model, minilm = META, meta_model(language_model), meta_model(minilm)
try:
    predictions = run_on_meta(label_budget_run, 64)
finally:
    device, language_model, minilm = saved
assert sorted(predictions) == ["lm_finetune", "minilm_finetuned", "scratch", "tfidf_lr"]
assert all(len(pred) == len(valid_df) for pred in predictions.values())
"""),
    Probe("lstm_predict on meta", "def lstm_predict(", """
for model, vocabulary, prefix in ((scratch, stoi, ()), (lm_classifier, lm_vocab.stoi, (EOS,))):
    assert run_on_meta(lambda: lstm_predict(meta_model(model), vocabulary, prefix)(test_df["review"].iloc[0])) == 0
"""),
]


MUTANTS = [
    Mutant("tokenizer keeps capitals", "def tokenize(", "return re.findall(TOKEN_PATTERN, text)"),
    Mutant("tokenizer splits on spaces", "def tokenize(", "return text.lower().split()"),
    Mutant("vocabulary without min_freq", "def build_vocab(", """
itos = [utils.PAD, utils.UNK] + [token for token, n in counts.most_common()]
stoi = {token: index for index, token in enumerate(itos)}
"""),
    Mutant("vocabulary with n > min_freq", "def build_vocab(", """
itos = [utils.PAD, utils.UNK] + [token for token, n in counts.most_common() if n > min_freq]
stoi = {token: index for index, token in enumerate(itos)}
"""),
    Mutant("untruncated length", "def encode(", """
ids = [stoi.get(token, stoi[utils.UNK]) for token in tokens]
length = len(ids)
ids = ids + [stoi[utils.PAD]] * (max_len - length)
"""),
    Mutant("padding on the left", "def encode(", """
ids = [stoi.get(token, stoi[utils.UNK]) for token in tokens[:max_len]]
length = len(ids)
ids = [stoi[utils.PAD]] * (max_len - length) + ids
"""),
    Mutant("pooling over the padding", "class LSTMClassifier(", """
outputs, _ = self.lstm(self.dropout(self.embedding(ids)))
pooled = torch.cat([outputs[:, -1], outputs.max(dim=1).values, outputs.mean(dim=1)], dim=1)
return self.head(self.dropout(pooled))
"""),
    Mutant("unfreezing from the bottom", "def unfreeze(", """
param_groups = []
for depth, group in enumerate(groups):
    trainable = depth < n_top_groups
    for parameter in group.parameters():
        parameter.requires_grad_(trainable)
    if trainable:
        param_groups.append({"params": list(group.parameters()), "lr": top_lr / decay**depth})
"""),
    Mutant("attention without the padding mask", "def attention_bias(", "return None"),
    Mutant("attention mask the wrong way round", "def attention_bias(",
           "return attention_mask[:, None, None, :].to(dtype) * torch.finfo(dtype).min"),
    Mutant("attention mask over the queries", "def attention_bias(",
           "return (1 - attention_mask[:, None, :, None].to(dtype)) * torch.finfo(dtype).min"),
    Mutant("lower groups learn faster", "def unfreeze(", """
param_groups = []
for depth, group in enumerate(reversed(groups)):
    trainable = depth < n_top_groups
    for parameter in group.parameters():
        parameter.requires_grad_(trainable)
    if trainable:
        param_groups.append({"params": list(group.parameters()), "lr": top_lr * decay**depth})
"""),
]


@pytest.fixture(scope="module")
def lesson():
    return run_lesson("05_polarity.ipynb", overrides=OVERRIDES, mutants=MUTANTS, probes=PROBES,
                      stop_after="def lstm_predict(")


@pytest.mark.slow
@pytest.mark.parametrize("name", [mutant.name for mutant in MUTANTS])
def test_mutant_caught(lesson, name):
    assert lesson.caught[name], f"the check let the wrong answer '{name}' pass"


@pytest.mark.slow
@pytest.mark.parametrize("name", [probe.name for probe in PROBES])
def test_probe(lesson, name):
    assert lesson.probe_errors[name] is None, lesson.probe_errors[name]


@pytest.mark.slow
def test_the_fallback_path_ran(lesson):
    assert lesson.probe_errors["no make lm cache"] is None
    assert lesson.cells_run > 80, f"the run stopped early after {lesson.cells_run} cells"
