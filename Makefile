# Two commands do everything on a fresh clone (only Python 3.10+ needed):
#   make run    create .venv if missing, execute every notebook in place (NB=01 for one), print results
#   make test   same set-up, then unit tests and nbval over every notebook
#   make exercises   regenerate the student notebooks in exercises/;  make results   the README's results table
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

.PHONY: setup run outputs test lab clean lm exercises results

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off -r requirements.txt -e .
	@touch $(STAMP)

# Pre-train lesson 05's language model once (about 14 minutes on a quiet 2-core CPU); rebuilt when its config changes.
lm: $(LM_FILE)

$(LM_FILE): tools/pretrain_lm.py utils/language_model.py | $(STAMP)
	$(BIN)/python tools/pretrain_lm.py $@

run: $(STAMP) $(LM_NEEDED)
	@test -n "$(NOTEBOOKS)" || { echo "no notebook matches NB=$(NB)"; exit 2; }
	$(BIN)/python tools/run_notebooks.py $(NOTEBOOKS)
	@$(BIN)/python tools/render_results.py

# Student notebooks: exercises/NN_name.ipynb from the solution markers of each lesson (CONTRIBUTING.md).
exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

# results/*.json -> the README's results table and the per-lesson plots in results/.
results: $(STAMP)
	$(BIN)/python tools/render_results.py

# Re-execute notebooks in place to refresh their committed outputs (same as run).
outputs: run

test: $(STAMP) $(LM_NEEDED)
	COURSE_RESULTS_DIR=$(CURDIR)/build/test-results $(BIN)/python -m pytest -p no:cacheprovider tests $(NBVAL_FLAGS) $(NOTEBOOKS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build
