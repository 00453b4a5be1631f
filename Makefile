# Two commands on a fresh clone (Python 3.10+ only): `make run` and `make test`.
# Each creates the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-quick lint plot bench bench-conv bench-pack setup-gpu

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/python MaskTrainer.py $(ARGS)

plot: $(BIN)/.installed
	$(BIN)/python Plotter.py $(ARGS)

# Two workers, module by module (tests/conftest.py): much of the suite waits on clusters and subprocesses.
test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n 2 tests $(ARGS)

# The inner loop: every test but the slow modules listed in tests/conftest.py.
test-quick: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not slow" tests $(ARGS)

# ruff with the settings in pyproject.toml (tests/test_lint.py runs the same check in the suite).
lint: $(BIN)/.installed
	$(BIN)/ruff check . $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/lenet_speed.py --data-dir ../shared/data/mnist $(ARGS)

bench-conv: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/conv_speed.py $(ARGS)

bench-pack: $(BIN)/.installed
	$(BIN)/python bench/pack_speed.py --data-dir ../shared/data/mnist $(ARGS)

# NVIDIA GPUs: .venv with JAX's CUDA build of the pinned version (requirements-gpu.txt); CUDA=13 for drivers >= 580.
CUDA ?= 12
setup-gpu: $(BIN)/.installed
ifeq ($(CUDA),12)
	$(BIN)/python -m pip install --quiet -r requirements-gpu.txt
else
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt \
		"$$(grep -o 'jax\[cuda12\]==[0-9.]*' requirements-gpu.txt | sed 's/cuda12/cuda$(CUDA)/')"
endif
	$(BIN)/python -c 'import jax; print("JAX", jax.__version__, "sees", jax.devices())'
