"""BEIR evaluation: a cached local store of the corpus, nDCG@10 and Recall@100 for the product ranking."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from assistant.corpus import ingest_paths, open_corpus
from assistant.embed import BUILD as EMBEDDER_BUILD
from assistant.embed import MODEL_NAME
from assistant.errors import PaperchatError, ParseError
from assistant.hashing import file_sha256
from assistant.records import Paper
from assistant.service import Assistant
from assistant.settings import Settings
from ingest.chunk import CHUNKER_VERSION
from ingest.parse import iter_records, normalize_title_key

from .metrics import mean, ndcg_at_k, recall_at_k

BEIR_K = 100  # BEIR reports Recall@100, so every query needs a 100-deep ranking


def _stored_ids(settings: Settings) -> set[str]:
    return set(open_corpus(settings, create=True).paper_states())


def ingest_beir_corpus(corpus: Path, settings: Settings, quiet: bool = True) -> dict[str, str]:
    """Ingest a BEIR corpus.jsonl so that every document is stored; returns paper id -> BEIR _id."""
    lines = corpus.read_text(encoding="utf-8").splitlines()
    beir_id = {}
    for n, line in enumerate(lines, 1):
        if line.strip():
            obj = json.loads(line)
            beir_id[n] = str(obj.get("_id", obj.get("id", n)))
    papers, seen, skipped = [], set(), 0
    for rec in iter_records(corpus, "jsonl"):
        if isinstance(rec, str) or rec.id in seen:
            skipped += 1
            continue
        seen.add(rec.id)
        papers.append(rec)
    if skipped:
        print(f"warning: {corpus}: {skipped} documents skipped (unparseable or a repeated id)", file=sys.stderr)
    ingest_paths([corpus], settings, fmt="jsonl", skip_invalid=True, quiet=quiet)
    # The pipeline merges records with the same normalised title (SciFact has three abstracts titled "Summary");
    # BEIR scores them as different documents, so the merged ones go in by themselves, one title per round.
    stored = _stored_ids(settings)
    missing = [p for p in papers if p.id not in stored]
    with tempfile.TemporaryDirectory() as tmp:
        while missing:
            firsts: dict[str, Paper] = {}
            for p in missing:
                firsts.setdefault(normalize_title_key(p.title), p)
            batch = list(firsts.values())
            path = Path(tmp) / "round.jsonl"
            path.write_text("".join(lines[p.line - 1] + "\n" for p in batch), encoding="utf-8")
            ingest_paths([path], settings, fmt="jsonl", skip_invalid=True, quiet=True)
            stored = _stored_ids(settings)
            still = [p for p in missing if p.id not in stored]
            if len(still) == len(missing):
                print(f"warning: {len(still)} documents could not be stored", file=sys.stderr)
                break
            missing = still
    return {p.id: beir_id.get(p.line, p.id) for p in papers}


def beir_store(corpus: Path, settings: Settings, quiet: bool = True) -> tuple[Settings, dict[str, str]]:
    """Settings for a local store of a BEIR corpus, ingested once and cached under cache_dir/beir/<sha256>."""
    digest = file_sha256(corpus)
    root = settings.cache_dir / "beir" / digest[:16]
    marker = root / "ingested.json"
    # Always a local directory: the cache must not write a benchmark corpus into a shared Chroma server.
    store_settings = replace(settings, store=root / "chroma", chroma_host="", collection="papers")
    built = {"sha256": digest, "chunker": CHUNKER_VERSION, "embedder": MODEL_NAME, "embedder_build": EMBEDDER_BUILD}
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if all(info.get(key) == value for key, value in built.items()):
            return store_settings, info["ids"]
        if info.get("embedder_build") != EMBEDDER_BUILD:
            # Vectors of another embedder (or an earlier build of it) are not rewritten by an incremental ingest;
            # the cache is ours to rebuild.
            shutil.rmtree(store_settings.store, ignore_errors=True)
    # An interrupted run or a new chunker version is caught up incrementally: ingest rewrites only changed papers.
    resumed = store_settings.store.exists()
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ids = ingest_beir_corpus(corpus, store_settings, quiet=quiet)
    # "seconds" is the ingest time of this run; after a resume it is not the cost of a first ingest.
    info = dict(built, corpus=str(corpus.resolve()), documents=len(ids), seconds=time.perf_counter() - t0, resumed=resumed,
                ids=ids)
    marker.write_text(json.dumps(info), encoding="utf-8")
    return store_settings, ids


def load_qrels(path: Path) -> dict[str, set[str]]:
    """query id -> relevant corpus ids from a BEIR qrels TSV (score > 0 is relevant)."""
    qrels: dict[str, set[str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if not line.strip() or (n == 1 and parts[0] == "query-id"):
            continue
        if len(parts) < 3:
            raise ParseError([f"{path}:{n}: expected 'query-id<TAB>corpus-id<TAB>score'"])
        if float(parts[2]) > 0:
            qrels.setdefault(parts[0], set()).add(parts[1])
        else:
            qrels.setdefault(parts[0], set())
    return {q: docs for q, docs in qrels.items() if docs}


def eval_beir(folder: Path, split: str, settings: Settings, limit: int | None = None) -> tuple[dict, list[dict]]:
    """nDCG@10, Recall@100 and queries/s on a BEIR folder, for the hybrid retriever and Assistant.retrieve."""
    corpus, queries_path, qrels_path = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for path in (corpus, queries_path, qrels_path):
        if not path.is_file():
            raise PaperchatError(f"{path} not found — --beir expects a BEIR folder (corpus.jsonl, queries.jsonl, "
                                 f"qrels/{split}.tsv)")
    store_settings, ids = beir_store(corpus, settings, quiet=False)
    queries = {}
    for line in queries_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            queries[str(obj["_id"])] = obj["text"]
    qrels = load_qrels(qrels_path)
    qids = list(qrels)[:limit] if limit else list(qrels)
    unknown = [q for q in qids if q not in queries]
    if unknown:
        raise PaperchatError(f"{qrels_path}: {len(unknown)} query ids are not in {queries_path} (e.g. {unknown[0]})")
    assistant = Assistant(store_settings)
    # Two rankings per query: the hybrid retriever alone, and Assistant.retrieve (what answers use), which also
    # re-ranks the head by best-matching sentence; the gap shows what the re-rank buys and what it costs.
    library = assistant.library
    systems = {"hybrid": lambda q, k: library.search(library.query(q), k=k), "assistant": assistant.retrieve}
    details = []
    seconds = dict.fromkeys(systems, 0.0)
    for qid in qids:
        item = {"id": qid}
        for name, search in systems.items():
            t0 = time.perf_counter()
            ranked = [ids.get(s.id, s.id) for s in search(queries[qid], k=BEIR_K)]
            seconds[name] += time.perf_counter() - t0
            item[name] = {"nDCG@10": ndcg_at_k(ranked, qrels[qid], 10), "R@100": recall_at_k(ranked, qrels[qid], 100),
                          "top10": ranked[:10]}
        details.append(item)
    metrics = {"queries": len(qids), "documents": len(ids)}
    for name in systems:
        metrics[name] = {"nDCG@10": mean([d[name]["nDCG@10"] for d in details]),
                         "R@100": mean([d[name]["R@100"] for d in details]),
                         "queries_per_s": len(qids) / seconds[name] if seconds[name] else None}
    return metrics, details


def _reference_scores(folder: Path) -> list[dict]:
    path = folder / "reference_scores.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("scores", [])


