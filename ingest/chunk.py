"""Token-aware chunking of abstracts (tiktoken) with the title carried in every chunk."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from assistant.records import Chunk, Paper
from assistant.text import split_sentences

# MiniLM truncates at 256 word-pieces; ~180 tiktoken tokens of abstract plus a ~20-token title stays below it.
CHUNK_TOKENS = 180
OVERLAP_SENTENCES = 1
CHUNKER_VERSION = "1"  # bump to force re-embedding when chunking changes


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """tiktoken (cl100k) token count."""
    return len(_encoding().encode(text, disallowed_special=()))


def content_hash(paper: Paper) -> str:
    """Hash of everything that ends up in the store; unchanged papers are skipped on re-ingest."""
    payload = json.dumps([CHUNKER_VERSION, paper.title, paper.abstract, paper.authors, paper.published,
                          paper.url, paper.categories], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def paper_metadata(paper: Paper) -> dict:
    """Flat Chroma metadata for a paper (dates as sortable ints for range filters)."""
    date_int = int(paper.published.replace("-", "")) if paper.published[:4].isdigit() else 0
    return {
        "paper_id": paper.id,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": "; ".join(paper.authors),
        "published": paper.published,
        "published_int": date_int,
        "url": paper.url,
        "categories": "; ".join(paper.categories),
        "source": paper.source,
    }


def chunk_paper(paper: Paper) -> list[Chunk]:
    """Split one abstract into sentence-aligned chunks of at most CHUNK_TOKENS, each prefixed by the title."""
    sentences = split_sentences(paper.abstract) or [paper.abstract]
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for sent in sentences:
        n = count_tokens(sent)
        if current and size + n > CHUNK_TOKENS:
            groups.append(current)
            current = current[-OVERLAP_SENTENCES:] if OVERLAP_SENTENCES else []
            size = sum(count_tokens(s) for s in current)
        current.append(sent)
        size += n
    if current and (not groups or current != groups[-1][-len(current):]):
        groups.append(current)
    meta = paper_metadata(paper)
    h = content_hash(paper)
    chunks = []
    for i, group in enumerate(groups):
        chunk_meta = dict(meta, chunk=i, n_chunks=len(groups), content_hash=h)
        chunks.append(Chunk(id=f"{paper.id}#{i}", paper_id=paper.id, text=f"{paper.title}\n{' '.join(group)}",
                            index=i, metadata=chunk_meta))
    return chunks
