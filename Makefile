# Two commands on a fresh clone (Python 3.10+ only): `make run` and `make test`.
# Each creates the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test plot bench bench-conv

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/python MaskTrainer.py $(ARGS)

plot: $(BIN)/.installed
	$(BIN)/python Plotter.py $(ARGS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/lenet_speed.py --data-dir ../shared/data/mnist $(ARGS)

bench-conv: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/conv_speed.py $(ARGS)
