"""Lesson 02 run at reduced size in one kernel: its exercise checks catch plausible wrong answers,
and the networks' prediction paths keep every tensor on the model's device (tried on "meta")."""
from __future__ import annotations

import pytest

from tests.notebook_probes import Mutant, Probe, run_lesson

OVERRIDES = ("SEEDS = [42]\nEPOCHS = 2\nHEAD_EPOCHS = 3\nTUNE_EPOCHS = 1\nC_GRID = [1]\nK_GRID = [5]\n"
             "LATENCY_SAMPLES = 4")
META = "import sys; sys.path.insert(0, '..'); from tests.device_harness import run_on_meta, meta_model\n"

MUTANTS = [
    Mutant("substring rules", region="def rule_tags", source="""
        tags = set()
        for alias, tag in aliases.items():
            if alias in text:
                tags.add(tag)
                tags.update(parent for parent in tags_dict[tag]["parents"] if parent in class_index)
        return sorted(tags)
        """),
    Mutant("constant threshold", region="def best_threshold", source="return 0.5"),
    Mutant("threshold at the best precision", region="def best_threshold", source="""
        precision, recall, thresholds = precision_recall_curve(y_true.ravel(), scores.ravel())
        return float(thresholds[np.argmax(precision[:-1])])
        """),
    Mutant("vectoriser fitted on all splits", region="X_train_stemmed = [", source="""
        every_split = X_train_stemmed + [preprocess(text, stem=True) for text in [*X_valid, *X_test]]
        vectorizer.fit(every_split)
        X_train_tfidf = vectorizer.transform(X_train_stemmed)
        X_valid_tfidf = vectorizer.transform([preprocess(text, stem=True) for text in X_valid])
        X_test_tfidf = vectorizer.transform([preprocess(text, stem=True) for text in X_test])
        """),
    Mutant("CNN without its padding mask", region="class CNN(", source="""
        x = self.embedding(ids).transpose(1, 2)
        pooled = [torch.relu(conv(x)).amax(dim=2) for conv in self.convs]
        z = self.dropout(torch.cat(pooled, dim=1))
        z = self.dropout(torch.relu(self.fc1(z)))
        return self.fc2(z)
        """),
]

PROBES = [
    Probe("CNN prediction on meta", after="cnn_predict = neural_predict(",
          code=META + "run_on_meta(neural_predict(meta_model(cnn), char_tokenizer, cnn_threshold, preprocess,"
                      " MAX_CHARS), X_test[0])"),
    Probe("GRU prediction on meta", after="gru_predict = neural_predict(",
          code=META + "run_on_meta(neural_predict(meta_model(gru), word_tokenizer, gru_threshold, plain_words),"
                      " X_test[0])"),
    Probe("CNN prediction on meta, old CPU lengths (must fail)", after="gru_predict = neural_predict(",
          code=META + """
def old_neural_predict(model, tokenizer, threshold, prepare, max_len=None):
    model_device = next(model.parameters()).device
    def predict(text):
        ids = tokenizer.encode(prepare(text), max_len).to(model_device)
        lengths = torch.tensor([len(ids)])
        model.eval()
        with torch.no_grad():
            probs = torch.sigmoid(model(ids[None], lengths)).cpu().numpy()
        return list(binarizer.inverse_transform(probs >= threshold)[0])
    return predict
run_on_meta(old_neural_predict(meta_model(cnn), char_tokenizer, cnn_threshold, preprocess, MAX_CHARS), X_test[0])
"""),
    Probe("fine-tuned MiniLM top on meta", after="def tuned_predict",
          code=META + "run_on_meta(lambda m: m(torch.zeros(2, 5, 384, device='meta'),"
                      " torch.ones(2, 5, dtype=torch.long, device='meta')), meta_model(tuned))"),
]


@pytest.fixture(scope="module")
def lesson():
    return run_lesson("02_baselines.ipynb", overrides=OVERRIDES, mutants=MUTANTS, probes=PROBES,
                      stop_after="tuned_predict(text):", timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m.name for m in MUTANTS])
def test_exercise_checks_catch_wrong_answers(lesson, mutant):
    assert lesson.caught[mutant], f"the check let the wrong answer {mutant!r} through"


@pytest.mark.slow
@pytest.mark.parametrize("probe", [p.name for p in PROBES if "must fail" not in p.name])
def test_prediction_paths_are_device_correct(lesson, probe):
    assert lesson.probe_errors[probe] is None, lesson.probe_errors[probe]


@pytest.mark.slow
def test_the_device_probe_catches_cpu_lengths(lesson):
    error = lesson.probe_errors["CNN prediction on meta, old CPU lengths (must fail)"]
    assert error and "DeviceMixError" in error, error
