"""Lesson 01 at reduced size: the exercise checks catch plausible wrong answers, and every forward and
predict path of the lesson's networks runs with the model on a device that is not the CPU.

One run of the notebook (tests/notebook_probes.py) with every mutant and probe; each test reads its part
of the cached result.
"""

from __future__ import annotations

import pytest

from tests.notebook_probes import Mutant, Probe, run_lesson

OVERRIDES = """
TRAIN_ROWS = 800
DESC_LEN = 64
EPOCHS = 4
PATIENCE = 2
N_SEEDS = 2
ALPHAS = [0.1, 1.0, 10.0]
BIAS_DEMO_STEPS = 30
CURVE_FRACTIONS = [0.5, 1.0]
CURVE_STEPS = 20
"""

MUTANTS = [
    Mutant("padding to the longest text, not max_len", "def as_matrix", """
length = max(map(len, sequences), default=1)
length = max(1, min(length, max_len or length))
matrix = np.full((len(sequences), length), PAD_IX, dtype=np.int64)
for row, sequence in enumerate(sequences):
    ids = [token_to_id.get(token, UNK_IX) for token in sequence[:length]]
    matrix[row, :len(ids)] = ids
return matrix
"""),
    Mutant("title encoder without its ReLU", "class TitleEncoder", """
x = self.emb(text_ix).transpose(1, 2)
x = self.pool(self.conv(x))
return self.dense(x)
"""),
    Mutant("description encoder without the ReLU between its convolutions", "class DescriptionEncoder", """
x = self.emb(text_ix).transpose(1, 2)
x = self.conv_2(self.conv_1(x))
x = F.relu(self.pool(x))
return self.dense_2(F.relu(self.dense_1(x)))
"""),
    Mutant("head without its first ReLU", "class SalaryPredictionNetwork", """
x = self.dense_1(joint)
x = F.relu(self.dense_2(x))
return self.dense_3(x)[:, 0]
"""),
    Mutant("training step without zero_grad", "def training_step", """
loss = loss_fn(model(**inputs), target)
loss.backward()
optimizer.step()
"""),
    Mutant("training step without optimizer.step", "def training_step", """
loss = loss_fn(model(**inputs), target)
optimizer.zero_grad()
loss.backward()
"""),
    Mutant("patience=None (early stopping never stops)", "def train(model", """
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
history = utils.fit(model, make_train_loader(train_set, generator), valid_loader, loss_fn, optimizer,
                    epochs=EPOCHS, metrics={"mae": mae_pounds},
                    early_stopping=utils.EarlyStopping("valid_mae", patience=None), device=device,
                    progress=progress, live_plot=live_plot, title=title)
"""),
    Mutant("explanations hide tokens cumulatively", "def token_effects", """
hidden = ids.repeat(n + 1, 1)
for i in range(n):
    hidden[i, :i + 1] = UNK_IX
batch = {name: value.repeat(n + 1, *[1] * value.dim()) for name, value in item.items() if name != "target"}
batch[key] = hidden
model.eval()
model_device = next(model.parameters()).device
predictions = model(**{name: value.to(model_device) for name, value in batch.items()}).cpu()
effects = (predictions[-1] - predictions[:-1]).tolist()
"""),
    Mutant("unmasked pooling", "class MaskedPooling", """
if "max" in self.kinds:
    pooled.append(h.amax(dim=1))
if "mean" in self.kinds:
    pooled.append(h.mean(dim=1))
if "attention" in self.kinds:
    pooled.append((torch.softmax(self.attention(h), dim=1) * h).sum(dim=1))
"""),
]

META = "from tests.device_harness import META, meta_model, run_on_meta\n"
PROBES = [
    Probe("training step on meta", "def training_step", META + """
utils.seed_everything(SEED)
probe_model = meta_model(SalaryPredictionNetwork(len(tokens), n_categorical))
loss = run_on_meta(training_step, probe_model, batch, torch.optim.Adam(probe_model.parameters(), lr=LR))
"""),
    Probe("seminar network predicts and explains on meta", "lone_prediction(seminar_model", META + """
probe_model = meta_model(seminar_model)
predictions, _ = run_on_meta(utils.predict, probe_model, valid_loader, META)
assert predictions.shape == (len(valid_df),)
run_on_meta(token_effects, probe_model, valid_df.iloc[[0]], "FullDescription")
run_on_meta(lone_prediction, probe_model, valid_df.iloc[[0]])
"""),
    Probe("every ablation row predicts on meta", "best_name = beast_table", META + """
for name, row_models in models.items():
    predictions, _ = run_on_meta(utils.predict, meta_model(row_models[0]), valid_loader, META)
    assert predictions.shape == (len(valid_df),), name
for changes in ({"gru_title": True}, {"gru_description": True}, {"glove": "frozen"},
                {"glove": "shared", "batch_norm": True, "kernels": (1, 3, 5)}, {"wide": True, "pooling": ALL_POOLING}):
    utils.seed_everything(SEED)
    run_on_meta(utils.predict, meta_model(beast(**changes)), valid_loader, META)
"""),
]


@pytest.fixture(scope="module")
def lesson():
    return run_lesson("01_salary_prediction.ipynb", overrides=OVERRIDES, mutants=MUTANTS, probes=PROBES)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [mutant.name for mutant in MUTANTS])
def test_exercise_checks_catch_wrong_answers(lesson, mutant):
    assert lesson.caught[mutant], f"the check let a wrong answer through: {mutant}"


@pytest.mark.slow
@pytest.mark.parametrize("probe", [probe.name for probe in PROBES])
def test_models_run_off_the_cpu(lesson, probe):
    assert lesson.probe_errors[probe] is None, lesson.probe_errors[probe]
