# Each target sets up what it needs: a virtualenv in .venv with the package installed (only when missing or stale).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint info demo clean

$(STAMP): pyproject.toml
	@command -v ffmpeg >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q ffmpeg; } \
		|| echo "warning: install Debian's ffmpeg package for the torchcodec backend (decord needs none)"
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(VENV)/bin/nanoemox setup --install
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

info: $(STAMP)
	$(VENV)/bin/nanoemox info --preset full

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-out

demo: $(STAMP)
	$(VENV)/bin/nanoemox demo run --out demo-out
