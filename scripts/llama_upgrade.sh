#!/usr/bin/env bash
# After set-up, in the background: on a CPU with AVX-512 VNNI (where the source build's first token is 1.6x sooner
# than the prebuilt AVX2 wheel's), compile llama-cpp-python at the lowest CPU priority and install it into the venv;
# the embedded server uses it from its next start. Nothing happens when PAPERCHAT_LLAMA is set, in CI, on other CPUs,
# or when the source build is already installed. Log: .venv/llama-build.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -z "${PAPERCHAT_LLAMA:-}" ] && [ -z "${CI:-}" ] || exit 0
grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null || exit 0
"$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llama_cpp') is not None)" || exit 0
wheel=$(PAPERCHAT_LLAMA=source PYTHON="$PYTHON" nice -n 19 scripts/llama_wheel.sh)
nice -n 19 "$PYTHON" -m pip install -q "$wheel"
echo "llama-cpp-python installed: the embedded LLM server uses it from its next start"
