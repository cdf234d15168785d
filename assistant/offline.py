"""Offline switches that must be set before the third-party imports read them; entry points call apply()."""

import os
from importlib.util import find_spec
from pathlib import Path


def _tiktoken_cache() -> str | None:
    try:
        spec = find_spec("llama_index.core")
    except ModuleNotFoundError:  # llama_index not installed: nothing to point at
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    # llama-index-core ships tiktoken's encodings; without this tiktoken downloads them.
    path = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
    return str(path) if path.is_dir() else None


def apply() -> None:
    """Set the environment so nothing phones home or downloads at run time."""
    defaults = {
        "ORT_DISABLE_TELEMETRY": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
        "DO_NOT_TRACK": "1",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    cache = _tiktoken_cache()
    if cache and "TIKTOKEN_CACHE_DIR" not in os.environ:
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
