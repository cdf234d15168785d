# The README's commands. `make run` serves the demo; `make test` runs the whole suite (CI calls it).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := data/demo/daily-papers.txt
export ORT_DISABLE_TELEMETRY=1
export GRADIO_ANALYTICS_ENABLED=False
export HF_HUB_OFFLINE=1
export ANONYMIZED_TELEMETRY=False

.PHONY: setup run test lint bench eval clean

setup: $(STAMP)

# The llama.cpp runtime's wheel (the prebuilt one, a 4 s download, unless a source build is cached) is fetched while
# pip installs the rest; the last pip run resolves both together. On AVX-512 VNNI CPUs llama_upgrade.sh then builds
# the faster source runtime in the background, at nice 19 (see scripts/llama_wheel.sh).
$(STAMP): pyproject.toml scripts/llama_wheel.sh scripts/llama_upgrade.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	PYTHON=$(PY) scripts/llama_wheel.sh > $(VENV)/.llama-wheel & \
	  $(VENV)/bin/pip install -q -e ".[local,dev]" && wait $$! && \
	  $(VENV)/bin/pip install -q "$$(cat $(VENV)/.llama-wheel)" -e ".[local,dev]"
	$(VENV)/bin/paperchat setup
	touch $(STAMP)
	nohup scripts/llama_upgrade.sh > $(VENV)/llama-build.log 2>&1 &

run: setup
	$(VENV)/bin/paperchat serve --demo $(DEMO)

test: setup
	scripts/ensure_chromium.sh
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check assistant ingest ui tests scripts
	$(VENV)/bin/lint-imports
	$(PY) scripts/check_sizes.py --module-lines 350 --function-lines 60 assistant ingest ui

bench: setup
	scripts/ensure_chromium.sh  # the browser row (scripts/bench_ui.py)
	$(PY) scripts/bench.py $(BENCH_FLAGS)

eval: setup
	$(VENV)/bin/paperchat ingest $(DEMO) --quiet
	$(VENV)/bin/paperchat eval --questions ../shared/eval/dev_questions.jsonl

clean:
	rm -rf $(VENV) data/chroma
