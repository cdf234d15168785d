#!/usr/bin/env bash
# Print the path of a llama-cpp-python wheel, building it once into a cache (a source build takes 7-9 min here).
set -euo pipefail
VERSION=0.3.36
CACHE="${PAPERCHAT_WHEEL_CACHE:-$HOME/.cache/paperchat/wheels}"
mkdir -p "$CACHE"
wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $VERSION from source (once; cached in $CACHE) ..." >&2
  build=$(mktemp -d)
  python3 -m venv "$build/venv"
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$build/venv/bin/pip" wheel --no-deps -q \
    "llama-cpp-python==$VERSION" -w "$build/out" >&2
  mv "$build"/out/llama_cpp_python-"$VERSION"-*.whl "$CACHE"/
  rm -rf "$build"
  wheel=$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl | head -n 1)
fi
echo "$wheel"
