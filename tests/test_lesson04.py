"""Lesson 04 at reduced size: its exercise checks catch plausible wrong answers, and every model family
trains and predicts on a device that is not the CPU.

One run of the notebook (tests/notebook_probes.py) up to the blend's helper. The mutants swap a wrong answer
into each exercise region and expect its check cell to raise: a plain mean for ``masked_mean``, the
learner's loop without ``zero_grad`` or without early stopping, a residual CNN without its skip, a
one-cycle scheduler that returns None and a language-model loss that scores the padding. Then each model
class is built afresh, copied to ``torch.device("meta")`` and trained for one epoch on a few batches (with
``utils.fit`` and with the learner's ``our_fit``) under tests/device_harness.py, which fails on any tensor
the model code leaves on the CPU (on a CUDA runtime that tensor would raise). The language model's
adaptive softmax selects rows by their values (``nonzero``), which no meta tensor can do, so its encoder is
probed without it.
"""

from __future__ import annotations

import pytest

from tests.notebook_probes import Mutant, Probe, run_lesson

OVERRIDES = """
TRAIN_PER_CATEGORY = 150
VALID_PER_CATEGORY = 60
TEST_PER_CATEGORY = 60
EPOCHS = 1
LONG_EPOCHS = 1
BUCKETS = 2**12
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


gram_train = DataLoader(TensorDataset(train_grams, train_y), batch_size=64)
gram_valid = DataLoader(TensorDataset(valid_grams, valid_y), batch_size=64)
both_train = DataLoader(TensorDataset(torch.cat([train_x, train_grams], 1), train_y), batch_size=64)
both_valid = DataLoader(TensorDataset(torch.cat([valid_x, valid_grams], 1), valid_y), batch_size=64)
"""

# At reduced size the loop check's accuracy bar (cell "Same model, seed and batches") is missed and tolerated, and
# it lies inside the early-stopping mutants' spans; this probe shows the stop check alone rejects those loops.
STOP_CHECK_BITES = """
import nbformat
cells = [c.source for c in nbformat.read("04_amazon_qa_homework.ipynb", as_version=4).cells if c.cell_type == "code"]
fit_cell = next(c for c in cells if c.startswith("def our_fit"))
run_cell = next(c for c in cells if "stopped after {len(small_epochs)}" in c)
check_cell = next(c for c in cells if "the best epoch's weights came back" in c)
wrong_loops = {
    "no stop": fit_cell.replace("            if waited >= patience:\\n                break\\n", ""),
    "last weights": fit_cell.replace("    model.load_state_dict(best_state)\\n", ""),
}
for name, wrong in wrong_loops.items():
    assert wrong != fit_cell, name
    exec(wrong)
    exec(run_cell)
    try:
        exec(check_cell)
    except AssertionError:
        pass
    else:
        raise RuntimeError(f"the early-stopping check let '{name}' through")
exec(fit_cell)
"""

AFTER = "def network_probabilities"
PROBES = [
    Probe("harness", AFTER, META_FIT),
    Probe("the early-stopping check bites on its own", AFTER, STOP_CHECK_BITES),
    Probe("DAN on meta", AFTER,
          "run_on_meta(meta_fit, DeepAveragingNetwork(glove_embeddings, N_CLASSES, freeze=False))"),
    Probe("the learner's loop on meta", AFTER, """
model = meta_model(DeepAveragingNetwork(glove_embeddings, N_CLASSES, freeze=False))
steps, table = run_on_meta(our_fit, model, few(train_loader), few(valid_loader), nn.CrossEntropyLoss(),
                           torch.optim.Adam(model.parameters(), lr=LR), 2, 1, progress=False)
assert len(steps) >= 3 and len(table) >= 1
"""),
    Probe("BiLSTM packed, spatial dropout, on meta", AFTER,
          "run_on_meta(meta_fit, BiLSTMClassifier(glove_embeddings, N_CLASSES, spatial_dropout=0.2))"),
    Probe("BiLSTM padded on meta", AFTER,
          "run_on_meta(meta_fit, BiLSTMClassifier(glove_embeddings, N_CLASSES, packed=False))"),
    Probe("CNNs on meta", AFTER, """
for kwargs in (dict(kind="parallel", masked=False), dict(kind="parallel", spatial_dropout=0.2),
               dict(kind="stacked", widths=(3, 3), norm=True), dict(kind="residual", widths=(3, 5), norm=True)):
    run_on_meta(meta_fit, TextCNN(glove_embeddings, N_CLASSES, **kwargs))
"""),
    Probe("n-gram bag on meta", AFTER,
          "run_on_meta(meta_fit, NgramBag(N_CLASSES), train=gram_train, valid=gram_valid)"),
    Probe("hybrid on meta", AFTER,
          "run_on_meta(meta_fit, Hybrid(glove_embeddings, N_CLASSES), train=both_train, valid=both_valid)"),
    Probe("language model encoder on meta", AFTER, """
encoder = meta_model(NextWordLSTM(glove_embeddings))
hidden = run_on_meta(encoder, next(iter(lm_train))[0].to(META))
assert hidden.is_meta and hidden.shape[-1] == encoder.lstm.hidden_size
"""),
    Probe("transfer classifier on meta", AFTER,
          "run_on_meta(meta_fit, NextWordLSTMClassifier(NextWordLSTM(glove_embeddings), N_CLASSES))"),
]

MUTANTS = [
    Mutant("masked_mean: a plain mean over padding too", "def masked_mean", "return x.mean(1)"),
    Mutant("the learner's loop without zero_grad", "def train_steps", """
inputs, targets = inputs.to(device), targets.to(device)
loss = loss_fn(model(inputs), targets)
loss.backward()
optimizer.step()
steps.append(loss.item())
bar.update(1)
"""),
    Mutant("the learner's loop without early stopping", "def our_fit", """
if valid_loss < best_loss:
    best_loss, waited = valid_loss, 0
    best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
""", check="the best epoch's weights came back"),
    Mutant("early stopping that keeps the last weights", "def our_fit", """
best_state = {key: value.detach().clone() for key, value in model.state_dict().items()}
if valid_loss < best_loss:
    best_loss, waited = valid_loss, 0
else:
    waited += 1
    if waited >= patience:
        break
""", check="the best epoch's weights came back"),
    Mutant("a residual CNN without its skip", "class ResidualConvs", """
h = self.project(x) * keep
for branches, mix, norm in zip(self.blocks, self.mixes, self.norms):
    update = mix(F.relu(torch.cat([branch(h) for branch in branches], 1)))
    h = F.relu(norm(update)) * keep
pooled = pool(h, mask, self.masked)
"""),
    Mutant("one_cycle_scheduler returning None", "def one_cycle_scheduler", "return None"),
    Mutant("lm_loss without the PAD mask", "def lm_loss",
           "return language_model.softmax(hidden.reshape(-1, hidden.shape[-1]), targets.reshape(-1)).loss"),
]


@pytest.fixture(scope="module")
def lesson():
    return run_lesson("04_amazon_qa_homework.ipynb", overrides=OVERRIDES, mutants=MUTANTS, probes=PROBES,
                      stop_after=AFTER)


@pytest.mark.slow
@pytest.mark.parametrize("name", [mutant.name for mutant in MUTANTS])
def test_exercise_check_catches_the_wrong_answer(lesson, name):
    assert lesson.caught[name], f"the check let '{name}' through"


@pytest.mark.slow
@pytest.mark.parametrize("name", [probe.name for probe in PROBES])
def test_model_code_runs_on_a_non_default_device(lesson, name):
    assert lesson.probe_errors[name] is None, lesson.probe_errors[name]


@pytest.mark.slow
def test_the_ablation_zoo_behind_its_knob_runs_to_the_end():
    """``ABLATIONS = True`` (off on the timed path) trains every extra model and still reaches the Results."""
    run = run_lesson("04_amazon_qa_homework.ipynb", overrides=OVERRIDES + "ABLATIONS = True\n")
    assert run.cells_run > 100, run
