"""Printing evaluation results as tables and comparing two JSON reports."""

from __future__ import annotations

from pathlib import Path

from .beir import _reference_scores
from .questions import RETRIEVAL_METRICS


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
                 _fmt(r["seconds_p95"], 2), _fmt(r["first_token_ms_mean"], 0), r.get("fallbacks", 0)]
                for kind, r in metrics["answers"].items()]
        print()
        print("Answers (cited papers vs gold: micro = pooled over all citations, macro = mean per question)")
        print(format_table(["kind", "n", "P micro", "R micro", "P macro", "R macro", "false refusals",
                            "refuse unans.", "mean s", "p50 s", "p95 s", "1st token ms", "fallbacks"], rows))
        print("fallbacks: answers whose LLM text failed verification and were replaced by the verified draft")


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


