"""Evaluation: retrieval metrics and answer checks on a question file or a BEIR folder, saved as a JSON report."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import shutil
import sys
import tempfile
import time
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.errors import PaperchatError, ParseError
from assistant.hashing import file_sha256
from assistant.questions import read_question_lines
from assistant.records import Paper
from assistant.settings import Settings

log = logging.getLogger(__name__)

QUESTION_K = 10  # papers retrieved per dev question: enough for R@10 and nDCG@10
BEIR_K = 100  # BEIR reports Recall@100, so every query needs a 100-deep ranking
KIND_ORDER = ("lookup", "comparative", "topic", "summary", "unanswerable")
RETRIEVAL_METRICS = ("R@1", "R@5", "R@10", "MRR", "nDCG@10")

# --- metrics (pure; ranked and relevant are document ids) -------------------------------------------------------


def _unique(ranked: Sequence[str]) -> list[str]:
    """Ranked ids with repeats removed: a document counts once, at its best rank."""
    return list(dict.fromkeys(ranked))


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Fraction of the relevant ids found in the top k (0.0 when nothing is relevant)."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel.intersection(_unique(ranked)[:k])) / len(rel)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-relevance nDCG@k as pytrec_eval computes it: ideal DCG has min(|relevant|, k) hits on top."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 2) for rank, doc in enumerate(_unique(ranked)[:k]) if doc in rel)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(rel), k)))
    return dcg / ideal


def mrr(ranked: Sequence[str], relevant: Collection[str], k: int | None = None) -> float:
    """Reciprocal rank of the first relevant id within the top k (0.0 if there is none)."""
    rel = set(relevant)
    for rank, doc in enumerate(_unique(ranked)[:k]):
        if doc in rel:
            return 1.0 / (rank + 1)
    return 0.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (linear interpolation), or None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), p)) if len(values) else None


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(np.asarray(values, dtype=float))) if len(values) else None


def title_key(text: str) -> str:
    """Lowercase alphanumeric-only form of a title or id, so punctuation and case never decide a match."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text).casefold() if ch.isalnum())


# --- question files --------------------------------------------------------------------------------------------


@dataclass
class Question:
    """One evaluation question; gold holds titles (or ids) of the papers that answer it, empty if none does."""

    id: str
    question: str
    kind: str
    gold: list[str]

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file of {id, question, kind, gold_titles}; problems are reported as file:line."""
    rows, problems = read_question_lines(path)
    out = []
    for n, obj in rows:
        gold = obj.get("gold_titles", obj.get("gold", []))
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            problems.append(f"{path}:{n}: \"gold_titles\" should be a list of titles")
            continue
        kind = str(obj.get("kind") or ("lookup" if gold else "unanswerable"))
        out.append(Question(str(obj.get("id", n)), obj["question"], kind, gold))
    if problems:
        raise ParseError(problems)
    if not out:
        raise PaperchatError(f"{path}: no questions found (expected JSONL lines with id, question, kind, gold_titles)")
    return out


def _ranked_keys(sources, gold_keys: set[str]) -> list[str]:
    """Each retrieved paper as its gold key when it matches one (by title or id), else as its own id."""
    out = []
    for s in sources:
        keys = {title_key(s.title), title_key(s.id)} & gold_keys
        out.append(min(keys) if keys else f"id:{s.id}")
    return out


def _retrieval_row(items: list[dict]) -> dict:
    """Mean of each retrieval metric over the questions, plus mean retrieval time."""
    row = {"n": len(items)}
    for name in RETRIEVAL_METRICS:
        row[name] = _mean([it[name] for it in items])
    row["retrieve_ms_mean"] = _mean([it["retrieve_ms"] for it in items])
    return row


def _answer_row(items: list[dict]) -> dict:
    """Citation precision/recall (micro: pooled over questions; macro: mean per question), refusals and timings."""
    ans = [it for it in items if it["answerable"]]
    unans = [it for it in items if not it["answerable"]]
    cited = sum(it["cited"] for it in ans)
    correct = sum(it["cited_correct"] for it in ans)
    gold = sum(it["gold"] for it in ans)
    seconds = [it["seconds"] for it in items]
    first = [it["first_token_ms"] for it in items if it["first_token_ms"] is not None]
    return {
        "n": len(items),
        "answerable": len(ans),
        "unanswerable": len(unans),
        "citation_precision_micro": correct / cited if cited else None,
        "citation_recall_micro": correct / gold if gold else None,
        # Macro precision is over answers that cite something: a refusal has no precision to average.
        "citation_precision_macro": _mean([it["cited_correct"] / it["cited"] for it in ans if it["cited"]]),
        "citation_recall_macro": _mean([it["cited_correct"] / it["gold"] for it in ans]),
        "false_refusals": sum(it["refused"] for it in ans),
        "false_refusal_rate": _mean([float(it["refused"]) for it in ans]),
        "refusal_rate_unanswerable": _mean([float(it["refused"]) for it in unans]),
        "seconds_mean": _mean(seconds),
        "seconds_p50": percentile(seconds, 50),
        "seconds_p95": percentile(seconds, 95),
        "first_token_ms_mean": _mean(first),
    }


def _by_kind(items: list[dict], row, keep) -> dict[str, dict]:
    """One row per question kind (in KIND_ORDER, kept if keep(row)) and an "overall" row."""
    kinds = sorted({it["kind"] for it in items}, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    out = {kind: row([it for it in items if it["kind"] == kind]) for kind in kinds}
    out = {kind: r for kind, r in out.items() if keep(r)}
    out["overall"] = row(items)
    return out


def eval_questions(assistant, questions: list[Question], answers: bool = False) -> tuple[dict, list[dict]]:
    """Retrieval metrics per kind (answerable questions only) and, with answers, citation/refusal checks."""
    stored = set()
    for pid, meta in assistant.retriever.papers.items():
        stored |= {title_key(pid), title_key(str(meta.get("title", "")))}
    details = []
    for q in questions:
        gold_keys = {title_key(g) for g in q.gold}
        for g in q.gold:
            if title_key(g) not in stored:
                print(f"warning: {q.id}: gold paper {g!r} is not in the store — wrong --store?", file=sys.stderr)
        t0 = time.perf_counter()
        sources = assistant.retrieve(q.question, k=QUESTION_K)
        item = {"id": q.id, "kind": q.kind, "answerable": q.answerable, "gold": len(gold_keys),
                "retrieve_ms": (time.perf_counter() - t0) * 1000, "retrieved": [s.id for s in sources[:QUESTION_K]]}
        if q.answerable:
            ranked = _ranked_keys(sources, gold_keys)
            item.update({"R@1": recall_at_k(ranked, gold_keys, 1), "R@5": recall_at_k(ranked, gold_keys, 5),
                         "R@10": recall_at_k(ranked, gold_keys, 10), "MRR": mrr(ranked, gold_keys, QUESTION_K),
                         "nDCG@10": ndcg_at_k(ranked, gold_keys, 10)})
        if answers:
            t0 = time.perf_counter()
            answer = assistant.ask(q.question)
            keys = {k for k in _ranked_keys(answer.citations, gold_keys) if not k.startswith("id:")}
            item.update({"seconds": time.perf_counter() - t0, "refused": bool(answer.refused),
                         "routed_kind": answer.kind, "citations": [c.id for c in answer.citations],
                         "cited": len({c.id for c in answer.citations}), "cited_correct": len(keys),
                         "first_token_ms": answer.timings.get("first_token_ms")})
        log.info("%s done", q.id)
        details.append(item)
    metrics = {"retrieval": _by_kind([it for it in details if it["answerable"]], _retrieval_row, lambda r: r["n"])}
    if answers:
        metrics["answers"] = _by_kind(details, _answer_row, lambda r: r["n"])
    return metrics, details


# --- BEIR --------------------------------------------------------------------------------------------------------


def _stored_ids(settings: Settings) -> set[str]:
    from assistant.store import open_store

    return set(open_store(settings, create=True).paper_states())


def ingest_beir_corpus(corpus: Path, settings: Settings, quiet: bool = True) -> dict[str, str]:
    """Ingest a BEIR corpus.jsonl so that every document is stored; returns paper id -> BEIR _id."""
    from ingest.parse import iter_records, normalize_title_key
    from ingest.pipeline import ingest_paths

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
    from assistant.embed import MODEL_NAME
    from ingest.chunk import CHUNKER_VERSION

    digest = file_sha256(corpus)
    root = settings.cache_dir / "beir" / digest[:16]
    marker = root / "ingested.json"
    # Always a local directory: the cache must not write a benchmark corpus into a shared Chroma server.
    store_settings = replace(settings, store=root / "chroma", chroma_host="", collection="papers")
    built = {"sha256": digest, "chunker": CHUNKER_VERSION, "embedder": MODEL_NAME}
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if all(info.get(key) == value for key, value in built.items()):
            return store_settings, info["ids"]
        if info.get("embedder", MODEL_NAME) != MODEL_NAME:
            # Vectors of another embedder cannot be updated in place; the cache is ours to rebuild.
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
    from assistant.answer import Assistant

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
    systems = {"hybrid": assistant.retriever.search, "assistant": assistant.retrieve}
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
        metrics[name] = {"nDCG@10": _mean([d[name]["nDCG@10"] for d in details]),
                         "R@100": _mean([d[name]["R@100"] for d in details]),
                         "queries_per_s": len(qids) / seconds[name] if seconds[name] else None}
    return metrics, details


def _reference_scores(folder: Path) -> list[dict]:
    path = folder / "reference_scores.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("scores", [])


# --- printing and reports -----------------------------------------------------------------------------------------


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width table: first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for r in [headers, *rows]:
        cells = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _print_questions(metrics: dict) -> None:
    rows = [[kind, r["n"], *[_fmt(r[m]) for m in RETRIEVAL_METRICS], _fmt(r["retrieve_ms_mean"], 1)]
            for kind, r in metrics["retrieval"].items()]
    print("Retrieval (k=10; R@k = fraction of the gold papers in the top k; unanswerable questions skipped)")
    print(format_table(["kind", "n", *RETRIEVAL_METRICS, "ms"], rows))
    if "answers" in metrics:
        rows = [[kind, r["n"], _fmt(r["citation_precision_micro"]), _fmt(r["citation_recall_micro"]),
                 _fmt(r["citation_precision_macro"]), _fmt(r["citation_recall_macro"]),
                 f"{r['false_refusals']}/{r['answerable']}" if r["answerable"] else "—",
                 _fmt(r["refusal_rate_unanswerable"], 2), _fmt(r["seconds_mean"], 2), _fmt(r["seconds_p50"], 2),
                 _fmt(r["seconds_p95"], 2), _fmt(r["first_token_ms_mean"], 0)]
                for kind, r in metrics["answers"].items()]
        print()
        print("Answers (cited papers vs gold: micro = pooled over all citations, macro = mean per question)")
        print(format_table(["kind", "n", "P micro", "R micro", "P macro", "R macro", "false refusals",
                            "refuse unans.", "mean s", "p50 s", "p95 s", "1st token ms"], rows))


def _print_beir(metrics: dict, folder: Path, split: str) -> None:
    print(f"BEIR {folder.name} ({split}): {metrics['queries']} queries over {metrics['documents']} documents")
    rows = []
    for name, label in (("hybrid", "paperchat hybrid: Retriever.search"),
                        ("assistant", "paperchat + sentence re-rank: Assistant.retrieve")):
        m = metrics[name]
        rows.append([label, _fmt(m["nDCG@10"]), _fmt(m["R@100"]), _fmt(m["queries_per_s"], 1)])
    for ref in _reference_scores(folder):
        rows.append([ref.get("system", "?"), _fmt(ref.get("ndcg_at_10")), _fmt(ref.get("recall_at_100")), ""])
    print(format_table(["system", "nDCG@10", "R@100", "queries/s"], rows))
    if split != "test" and len(rows) > 2:
        print("(reference scores are for the test split)")


def flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics dict as {"a.b.c": value}."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    return out


def compare_rows(old: dict, new: dict) -> list[list[str]]:
    """[metric, old, new, difference] for every numeric metric of two reports (new report's order first)."""
    a, b = flatten(old.get("metrics", {})), flatten(new.get("metrics", {}))
    rows = []
    for name in list(b) + [n for n in a if n not in b]:
        before, after = a.get(name), b.get(name)
        diff = "—"
        if before is not None and after is not None:
            delta = after - before
            diff = f"{delta:+d}" if isinstance(delta, int) else f"{delta:+.3f}"
        rows.append([name, _fmt(before), _fmt(after), diff])
    return rows


def _git_commit() -> str:
    head = Path(__file__).resolve().parents[1] / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (head.parent / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return ""


def run_eval(args, settings: Settings) -> int:
    """The `paperchat eval` command: run the requested evaluations, print tables, write (and compare) a report."""
    questions_path = getattr(args, "questions", None)
    beir = getattr(args, "beir", None)
    if not questions_path and not beir:
        raise PaperchatError("nothing to evaluate — give --questions FILE.jsonl or --beir DIR")
    limit = getattr(args, "limit", None)
    old = None
    if getattr(args, "compare", None):
        try:
            old = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PaperchatError(f"{args.compare}: cannot read the report to compare with: {exc}") from exc
    now = dt.datetime.now()
    report: dict = {"created": now.isoformat(timespec="seconds"), "commit": _git_commit(), "metrics": {},
                    "config": {"store": str(settings.chroma_host or settings.store), "extractive": settings.extractive,
                               "limit": limit}}
    details: dict = {}
    if questions_path:
        from assistant.answer import Assistant

        questions = load_questions(Path(questions_path))[:limit] if limit else load_questions(Path(questions_path))
        assistant = Assistant(settings)
        try:
            metrics, per_question = eval_questions(assistant, questions, answers=bool(getattr(args, "answers", False)))
        finally:
            if assistant._llm is not None:
                assistant._llm.close()
        report["config"]["questions"] = str(questions_path)
        report["metrics"]["questions"] = metrics
        details["questions"] = per_question
        _print_questions(metrics)
    if beir:
        split = getattr(args, "split", None) or "test"
        metrics, per_query = eval_beir(Path(beir), split, settings, limit)
        report["config"].update(beir=str(beir), split=split)
        report["metrics"]["beir"] = metrics
        details["beir"] = per_query
        if questions_path:
            print()
        _print_beir(metrics, Path(beir), split)
    report["details"] = details
    path = Path(getattr(args, "report", None) or Path("reports") / f"eval-{now:%Y%m%d-%H%M%S}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"report written to {path}", file=sys.stderr)
    if old is not None:
        print(f"\nCompared with {args.compare}:")
        print(format_table(["metric", "old", "new", "new - old"], compare_rows(old, report)))
    return 0
