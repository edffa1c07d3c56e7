"""Lesson 04 at reduced size: every model family trains and predicts on a device that is not the CPU.

One run of the notebook (tests/notebook_probes.py) up to the ensemble's definition; then each model class
is built afresh, copied to ``torch.device("meta")`` and trained for one epoch on a few batches with
``utils.fit`` under tests/device_harness.py, which fails on any tensor the model code leaves on the CPU
(on a CUDA runtime that tensor would raise). The language model's adaptive softmax selects rows by
their values (``nonzero``), which no meta tensor can do, so its encoder is probed without it.
"""

from __future__ import annotations

import pytest

from tests.notebook_probes import Probe, run_lesson

OVERRIDES = """
N_PER_CATEGORY = 150
EPOCHS = 1
LONG_EPOCHS = 1
W2V_EPOCHS = 1
LM_MAX_TEXTS = 1_000
"""

META_FIT = """
from tests.device_harness import META, meta_model, run_on_meta


def few(loader, rows=192):
    return DataLoader(torch.utils.data.Subset(loader.dataset, range(rows)), batch_size=64)


def meta_fit(model, loss_fn=None, train=None, valid=None):
    model = meta_model(model)
    utils.fit(model, few(train or train_loader), few(valid or valid_loader), loss_fn or nn.CrossEntropyLoss(),
              torch.optim.Adam(model.parameters(), lr=LR), 1, metrics=METRICS, device=META, progress=False,
              early_stopping=utils.EarlyStopping(patience=1))
    logits, _ = utils.predict(model, few(valid or valid_loader), META)
    assert logits.shape == (192, N_CLASSES) and logits.device.type == "cpu"
"""

AFTER = "def ensemble(names)"
PROBES = [
    Probe("harness", AFTER, META_FIT),
    Probe("DAN on meta", AFTER,
          "run_on_meta(meta_fit, DeepAveragingNetwork(glove_embeddings, N_CLASSES, freeze=False))"),
    Probe("BiLSTM packed on meta", AFTER, "run_on_meta(meta_fit, BiLSTMClassifier(glove_embeddings, N_CLASSES))"),
    Probe("BiLSTM padded on meta", AFTER,
          "run_on_meta(meta_fit, BiLSTMClassifier(glove_embeddings, N_CLASSES, packed=False))"),
    Probe("CNNs on meta", AFTER, """
for kwargs in (dict(kind="parallel", masked=False), dict(kind="parallel", spatial_dropout=0.2),
               dict(kind="stacked", widths=(3, 3), norm=True), dict(kind="residual", widths=(3, 5), norm=True)):
    run_on_meta(meta_fit, TextCNN(glove_embeddings, N_CLASSES, **kwargs))
"""),
    Probe("language model encoder on meta", AFTER, """
encoder = meta_model(NextWordLSTM(glove_embeddings))
hidden = run_on_meta(encoder, next(iter(lm_train))[0].to(META))
assert hidden.is_meta and hidden.shape[-1] == encoder.lstm.hidden_size
"""),
    Probe("transfer classifier on meta", AFTER,
          "run_on_meta(meta_fit, NextWordLSTMClassifier(NextWordLSTM(glove_embeddings), N_CLASSES))"),
]


@pytest.fixture(scope="module")
def lesson():
    return run_lesson("04_amazon_qa_homework.ipynb", overrides=OVERRIDES, probes=PROBES, stop_after=AFTER)


@pytest.mark.slow
@pytest.mark.parametrize("name", [probe.name for probe in PROBES])
def test_model_code_runs_on_a_non_default_device(lesson, name):
    assert lesson.probe_errors[name] is None, lesson.probe_errors[name]
