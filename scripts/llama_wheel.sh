#!/usr/bin/env bash
# Print the pip requirement of the embedded llama.cpp runtime, as a wheel file kept in a cache.
# PAPERCHAT_LLAMA=prebuilt: xllamacpp's wheel (llama.cpp's own C++ server, built for AVX2; a 34 MB download).
# PAPERCHAT_LLAMA=source: llama-cpp-python compiled for this CPU once (8-9 min here), cached, printed with [server].
# Default (auto): the source build when one is already cached, else the prebuilt wheel — set-up never waits for a
# compiler (scripts/llama_upgrade.sh builds the faster one in the background where it pays). Measured on a quiet
# AVX-512 VNNI EPYC (scripts/bench_llm.py, 8 prompts): the source build's first token is 1.6x sooner (p50 2.2 vs
# 3.6 s), writing as fast (14.0 vs 14.4 tok/s). No prebuilt wheel for the platform: source.
set -euo pipefail
XLLAMACPP=2026.10.11549
LLAMA_CPP_PYTHON=0.3.36
CACHE="${PAPERCHAT_WHEEL_CACHE:-$HOME/.cache/paperchat/wheels}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"

cached() { ls "$CACHE"/"$1"-*.whl 2>/dev/null | head -n 1 || true; }

MODE="${PAPERCHAT_LLAMA:-auto}"
if [ "$MODE" = auto ]; then
  if [ -n "$(cached "llama_cpp_python-$LLAMA_CPP_PYTHON")" ]; then MODE=source; else MODE=prebuilt; fi
fi

if [ "$MODE" != source ]; then
  wheel=$(cached "xllamacpp-$XLLAMACPP")
  if [ -z "$wheel" ] && "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$CACHE" \
      "xllamacpp==$XLLAMACPP" >&2; then
    wheel=$(cached "xllamacpp-$XLLAMACPP")
  fi
  if [ -n "$wheel" ]; then
    echo "$wheel"
    exit 0
  fi
  echo "no prebuilt xllamacpp wheel for this platform: building llama-cpp-python instead" >&2
fi

wheel=$(cached "llama_cpp_python-$LLAMA_CPP_PYTHON")
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $LLAMA_CPP_PYTHON from source (once; cached in $CACHE) ..." >&2
  build=$(mktemp -d)
  "$PYTHON" -m venv "$build/venv"
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$build/venv/bin/pip" wheel --no-deps -q \
    "llama-cpp-python==$LLAMA_CPP_PYTHON" -w "$build/out" >&2
  mv "$build"/out/llama_cpp_python-"$LLAMA_CPP_PYTHON"-*.whl "$CACHE"/
  rm -rf "$build"
  wheel=$(cached "llama_cpp_python-$LLAMA_CPP_PYTHON")
fi
echo "$wheel[server]"
