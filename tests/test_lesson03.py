"""Lesson 03 at reduced size: every exercise check fails plausible wrong answers, and the lesson's
models train and predict on a device that is not the CPU.

One run of the notebook (tests/notebook_probes.py) with short MovieLens fits and sweeps; each
``Mutant`` is a wrong answer a learner could write into a solution region, and its check cell must
raise. The device probes move the models, and the globals the lesson's loops read (``device``, the
MNIST tensors), to ``torch.device("meta")`` under tests/device_harness.py, which fails on any tensor
the code builds on the CPU and mixes with the model's.
"""

from __future__ import annotations

import pytest

from tests.notebook_probes import Mutant, Probe, run_lesson

OVERRIDES = """
MF_EPOCHS = 2
FACTOR_SWEEP = [10, 40]
WD_SWEEP = [0.1, 1.0]
N_SEEDS = 2
LR_FIND = (1e-5, 1.0, 40)
"""

MUTANTS = [
    Mutant("forward without low +", region="class DotProductBias", source="""
x = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)
if self.use_bias:
    x = x + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)
if self.y_range is None:
    return x
low, high = self.y_range
return (high - low) * torch.sigmoid(x)
"""),
    Mutant("log_softmax without the shift", region="def log_softmax",
           source="return logits - logits.exp().sum(dim=1, keepdim=True).log()"),
    Mutant("update() without weight decay", region="def update(model", source="""
loss.backward()
with torch.no_grad():
    for p in model.parameters():
        p -= lr * p.grad
        p.grad = None
"""),
    Mutant("update() with wd * sum(p**2), gradient 2 wd p", region="def update(model", source="""
penalty = sum((p**2).sum() for p in model.parameters())
(loss + wd * penalty).backward()
with torch.no_grad():
    for p in model.parameters():
        p -= lr * p.grad
        p.grad = None
"""),
    Mutant("ewma without debiasing", region="def ewma", source="""
avg = beta * avg + (1 - beta) * v
out.append(avg)
"""),
    Mutant("SGD: L2 added after the momentum buffer", region="class SGD(Optimizer)", source="""
if self.weight_decay and self.decoupled:
    p.mul_(1 - self.lr * self.weight_decay)
if self.momentum:
    v = state.get("v")
    state["v"] = v = g.clone() if v is None else v.mul_(self.momentum).add_(g)
    g = v
if self.weight_decay and not self.decoupled:
    g = g + self.weight_decay * p
p.sub_(self.lr * g)
"""),
    Mutant("RMSProp: sum of squares, not an average", region="class RMSProp", source="""
sq = state.setdefault("sq", torch.zeros_like(p))
sq.mul_(self.alpha).add_(g * g)
p.sub_(self.lr * g / (sq.sqrt() + self.eps))
"""),
    Mutant("RMSProp: eps inside the root", region="class RMSProp", source="""
sq = state.setdefault("sq", torch.zeros_like(p))
sq.mul_(self.alpha).add_((1 - self.alpha) * g * g)
p.sub_(self.lr * g / (sq + self.eps).sqrt())
"""),
    Mutant("Adam without bias correction", region="class Adam(Optimizer)", source="""
if self.weight_decay and self.decoupled:
    p.mul_(1 - self.lr * self.weight_decay)
elif self.weight_decay:
    g = g + self.weight_decay * p
m = state.setdefault("m", torch.zeros_like(p))
v = state.setdefault("v", torch.zeros_like(p))
m.mul_(self.beta1).add_((1 - self.beta1) * g)
v.mul_(self.beta2).add_((1 - self.beta2) * g * g)
p.sub_(self.lr * m / (v.sqrt() + self.eps))
"""),
    Mutant("one_cycle annealing to lr_max / div only", region="def one_cycle", source="""
lr_start = lr_max / div
if step <= warm_end:
    pct = step / warm_end
    return cos_between(lr_start, lr_max, pct), cos_between(moms[0], moms[1], pct)
pct = (step - warm_end) / (total - 1 - warm_end)
return cos_between(lr_max, lr_start, pct), cos_between(moms[1], moms[0], pct)
"""),
    Mutant("one_cycle with linear ramps", region="def one_cycle", source="""
lr_start, lr_end = lr_max / div, lr_max / div / final_div
if step <= warm_end:
    pct = step / warm_end
    return lr_start + (lr_max - lr_start) * pct, moms[0] + (moms[1] - moms[0]) * pct
pct = (step - warm_end) / (total - 1 - warm_end)
return lr_max + (lr_end - lr_max) * pct, moms[1] + (moms[0] - moms[1]) * pct
"""),
]

MF_ON_META = """
from tests.device_harness import META, meta_model, run_on_meta

saved_device, device = device, META
try:
    rows = to_tensors(valid_df.head(256))          # built on `device`, as on a GPU
    fresh = new_model(start=train_mean)
    run_on_meta(fit_mf, fresh, rows, rows, epochs=1, desc="meta")
    predicted = run_on_meta(predict_ratings, [fresh, meta_model(mf_model)], rows)
    assert predicted.shape == (256,)
finally:
    device = saved_device
"""

MLP_ON_META = """
from tests.device_harness import META, meta_model, run_on_meta

saved = device, x_train, y_train
device, x_train, y_train = META, x_train[:320].to(META), y_train[:320].to(META)
try:
    for name, (make_opt, lr_max) in recipes.items():
        model, _ = run_on_meta(train_mnist, make_opt, lr_max, desc=name)
    logits = run_on_meta(mnist_logits, model, x_test[:100])   # test images live on the CPU
    assert logits.shape == (100, 10) and logits.device.type == "cpu"
finally:
    device, x_train, y_train = saved
"""

PROBES = [
    Probe("matrix factorisation trains and predicts on meta", "fit_mf(biases_model, train_t", MF_ON_META),
    Probe("MNIST MLP trains and predicts on meta", "rows, curves, mnist_models = {}", MLP_ON_META),
]


@pytest.fixture(scope="module")
def lesson():
    return run_lesson("03_collaborative_filtering.ipynb", overrides=OVERRIDES, mutants=MUTANTS, probes=PROBES)


@pytest.mark.slow
@pytest.mark.parametrize("name", [mutant.name for mutant in MUTANTS])
def test_exercise_checks_catch_wrong_answers(lesson, name):
    assert lesson.caught[name], f"the check let '{name}' through"


@pytest.mark.slow
@pytest.mark.parametrize("name", [probe.name for probe in PROBES])
def test_model_code_runs_on_a_non_default_device(lesson, name):
    assert lesson.probe_errors[name] is None, lesson.probe_errors[name]
