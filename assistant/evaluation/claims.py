"""Claim-check evaluation: SciFact's SUPPORT / CONTRADICT / not-enough-info claims against the abstracts they
cite, and our perturbation set (original, paraphrase, negation, number, name swap) against the demo abstracts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from assistant.answering.verification import Judge
from assistant.errors import PaperchatError
from assistant.text import evidence_sentences

from .metrics import mean
from .report import format_table


def scifact_items(folder: Path, split: str) -> list[tuple[str, list[str], str]]:
    """(claim, cited abstract's sentences, gold label) for every cited document of every claim in the split."""
    claims_path, corpus_path = folder / "original" / f"claims_{split}.jsonl", folder / "original" / "corpus.jsonl"
    for path in (claims_path, corpus_path):
        if not path.is_file():
            raise PaperchatError(f"{path} not found — --verify expects the SciFact folder with original/")
    corpus = {}
    for line in corpus_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc = json.loads(line)
            corpus[str(doc["doc_id"])] = [" ".join(s.split()) for s in doc["abstract"]]
    items = []
    for line in claims_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        evidence = obj.get("evidence", {})
        if "cited_doc_ids" not in obj:
            raise PaperchatError(f"{claims_path}: claims have no labels in this split — use train or dev")
        for doc in obj["cited_doc_ids"]:
            doc = str(doc)
            if doc in corpus:
                label = evidence[doc][0]["label"] if evidence.get(doc) else "NEI"
                items.append((obj["claim"], corpus[doc], label))
    return items


def perturbation_items(path: Path, abstracts: dict[str, str]) -> list[tuple[str, list[str], str]]:
    """(claim, its paper's abstract sentences, "kind:expected") for each line of a perturbation file."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("paper_id") not in abstracts:
            raise PaperchatError(f"{path}:{n}: paper {obj.get('paper_id')!r} is not in the store — ingest the "
                                 f"demo corpus into --store first")
        items.append((obj["claim"], evidence_sentences(abstracts[obj["paper_id"]]), f"{obj['kind']}:{obj['expected']}"))
    return items


def judge_items(items: list[tuple[str, list[str], str]], judges: dict[str, Judge],
                progress: Callable[[str], None] | None = None) -> dict:
    """Per judge and gold label: share accepted (supported), share judged contradicted, ms per judgement."""
    out: dict = {}
    for name, judge in judges.items():
        t0 = time.perf_counter()
        verdicts = judge.judge_many([(c, p) for c, p, _ in items])
        ms = (time.perf_counter() - t0) * 1000 / max(len(items), 1)
        rows: dict[str, dict] = {}
        for gold in sorted({g for _, _, g in items}):
            vs = [v for v, (_, _, g) in zip(verdicts, items, strict=True) if g == gold]
            rows[gold] = {"n": len(vs), "accepted": mean([float(v.label == "supported") for v in vs]),
                          "contradicted": mean([float(v.label == "contradicted") for v in vs])}
        out[name] = {"labels": rows, "ms_per_judgement": ms}
        if progress:
            progress(name)
    return out


def format_claims(metrics: dict, title: str) -> str:
    """One row per gold label, one column pair per judge."""
    judges = list(metrics)
    golds = list(next(iter(metrics.values()))["labels"]) if metrics else []
    headers = ["gold", "n"] + [f"{j} {col}" for j in judges for col in ("accepted", "contradicted")]
    rows = []
    for g in golds:
        row = [g, str(metrics[judges[0]]["labels"][g]["n"])]
        for j in judges:
            r = metrics[j]["labels"][g]
            row += [f"{r['accepted']:.3f}", f"{r['contradicted']:.3f}"]
        rows.append(row)
    rows.append(["ms/judgement", ""] + [x for j in judges for x in (f"{metrics[j]['ms_per_judgement']:.1f}", "")])
    return f"{title}\n" + format_table(headers, rows)
