"""File hashing shared by the model checks and the benchmark cache."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file (hashlib.file_digest reads it in blocks; model files are hundreds of MB)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
