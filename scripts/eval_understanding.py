"""Question understanding on the labelled paraphrase set and conversations, per style and per kind.

    PYTHONPATH=$PWD python scripts/eval_understanding.py --store /tmp/store [--split train|test|all] [--llm]

Runs every question through `Assistant` (extractive unless --llm; the same path as `paperchat ask --batch --json`)
and prints, per style and per kind: false refusals (answerable refused), unanswerable refused, citation precision
and recall against gold_ids, kind accuracy and named-paper accuracy; for conversations, per-turn recall.
Conversations have no split field: odd-numbered ones are train, even-numbered ones test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from assistant import offline

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
STYLES = ("formal", "casual_lower", "typo", "terse", "imperative", "long_context")
KINDS = ("lookup", "summary", "comparative", "topic", "unanswerable")
NAMED_KINDS = ("summary", "comparative")  # kinds whose gold papers the question names (or describes)


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def conversation_split(conv: str) -> str:
    """Odd-numbered conversations are train, even-numbered ones test."""
    return "train" if int(conv.split("-")[-1]) % 2 else "test"


def judge(assistant, item: dict, history: list, use_llm: bool) -> dict:
    """One question through the understanding step and the whole answer path."""
    u = assistant.answerer.understand(item["question"], history)
    _, sel = assistant.answerer.select(u, assistant.settings.k)
    t0 = time.perf_counter()
    answer = assistant.ask(item["question"], history=history, extractive=not use_llm)
    gold = set(item["gold_ids"])
    cited = {c.id for c in answer.citations}
    named = set(sel.named)
    if item["kind"] in NAMED_KINDS:
        named_ok = named == gold
    else:
        named_ok = item["kind"] == "unanswerable" or named <= gold
    return {"id": item.get("id") or f"{item['conversation']}/{item['turn']}", "kind": item["kind"],
            "style": item.get("style", "conversation"), "answerable": bool(gold), "refused": answer.refused,
            "refusal": answer.refusal.reason if answer.refusal else None, "routed": u.kind,
            "kind_ok": u.kind == item["kind"], "named": sorted(named), "named_ok": named_ok,
            "cited": len(cited), "correct": len(cited & gold), "gold": len(gold), "sides": list(u.sides),
            "standalone": answer.standalone_question or "", "citations": sorted(cited), "gold_ids": sorted(gold),
            "seconds": time.perf_counter() - t0, "answer": answer}


def row(items: list[dict]) -> dict:
    ans = [it for it in items if it["answerable"]]
    unans = [it for it in items if not it["answerable"]]
    cited = sum(it["cited"] for it in ans)
    correct = sum(it["correct"] for it in ans)
    gold = sum(it["gold"] for it in ans)
    return {"n": len(items), "false_refusals": sum(it["refused"] for it in ans), "answerable": len(ans),
            "unans_refused": sum(it["refused"] for it in unans), "unanswerable": len(unans),
            "P": correct / cited if cited else float("nan"), "R": correct / gold if gold else float("nan"),
            "kind_acc": _frac([it["kind_ok"] for it in ans]), "named_acc": _frac([it["named_ok"] for it in items]),
            "s_p50": sorted(it["seconds"] for it in items)[len(items) // 2] if items else float("nan")}


def _frac(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def print_table(title: str, groups: dict[str, list[dict]]) -> None:
    print(f"\n{title}")
    print(f"{'group':<14}{'n':>4}{'false_ref':>11}{'unans_ref':>11}{'P':>7}{'R':>7}{'kind':>7}{'named':>7}"
          f"{'s_p50':>7}")
    for name, items in groups.items():
        if not items:
            continue
        r = row(items)
        print(f"{name:<14}{r['n']:>4}{r['false_refusals']:>7}/{r['answerable']:<3}{r['unans_refused']:>7}/"
              f"{r['unanswerable']:<3}{r['P']:>7.3f}{r['R']:>7.3f}{r['kind_acc']:>7.2f}{r['named_acc']:>7.2f}"
              f"{r['s_p50']:>7.2f}")


def run_questions(assistant, path: Path, split: str, use_llm: bool, verbose: bool) -> list[dict]:
    items = [q for q in load(path) if split == "all" or q["split"] == split]
    out = []
    for q in items:
        out.append(judge(assistant, q, [], use_llm))
        it = out[-1]
        print(json.dumps({k: v for k, v in it.items() if k != "answer"}), file=sys.stderr, flush=True)  # progress
    if verbose:
        for it in out:
            if (it["refused"] == it["answerable"]) or it["correct"] < it["gold"] or it["cited"] > it["correct"] \
                    or not it["kind_ok"] and it["answerable"] or not it["named_ok"]:
                print(f"  {it['id']} {it['style']}/{it['kind']} -> {it['routed']} refused={it['refused']}"
                      f"({it['refusal']}) named={it['named']} sides={it['sides']} cited={it['citations']} "
                      f"gold={it['gold_ids']}", file=sys.stderr)
    groups = {s: [it for it in out if it["style"] == s] for s in STYLES}
    groups |= {k: [it for it in out if it["kind"] == k] for k in KINDS}
    groups["overall"] = out
    print_table(f"{path.name} [{split}] {'embedded LLM' if use_llm else 'extractive'}", groups)
    return out


def run_conversations(assistant, path: Path, split: str, use_llm: bool, verbose: bool) -> list[dict]:
    turns = [t for t in load(path) if split == "all" or conversation_split(t["conversation"]) == split]
    histories: dict[str, list] = defaultdict(list)
    out = []
    for t in turns:
        history = histories[t["conversation"]]
        it = judge(assistant, t, list(history), use_llm)
        history.append((t["question"], it.pop("answer")))
        it["turn"] = t["turn"]
        out.append(it)
        if verbose and (it["correct"] < it["gold"] or it["cited"] > it["correct"]
                                          or it["refused"] == it["answerable"]):
            print(f"  {it['id']} {t['kind']}: {t['question']!r} -> {it['standalone']!r} cited={it['citations']} "
                  f"gold={it['gold_ids']} refused={it['refused']}", file=sys.stderr)
    follow = [it for it in out if it["turn"] > 1]
    groups = {"turn 1": [it for it in out if it["turn"] == 1], "follow-ups": follow}
    groups |= {f"follow {k}": [it for it in follow if it["kind"] == k] for k in KINDS}
    print_table(f"{path.name} [{split}] {'embedded LLM' if use_llm else 'extractive'}", groups)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="store holding the demo papers (default: PAPERCHAT_STORE)")
    ap.add_argument("--questions", type=Path, default=DATA / "questions_casual.jsonl")
    ap.add_argument("--conversations", type=Path, default=DATA / "conversations.jsonl")
    ap.add_argument("--split", choices=("train", "test", "all"), default="train")
    ap.add_argument("--llm", action="store_true", help="answer with the configured LLM instead of extractively")
    ap.add_argument("--only", choices=("questions", "conversations"), help="run one of the two files")
    ap.add_argument("--json", type=Path, help="write every judged question here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each miss to stderr")
    args = ap.parse_args()
    offline.apply()
    from assistant.service import Assistant
    from assistant.settings import load_settings

    assistant = Assistant(load_settings(store=args.store, extractive=not args.llm))
    try:
        out = []
        if args.only != "conversations":
            out += run_questions(assistant, args.questions, args.split, args.llm, args.verbose)
        if args.only != "questions":
            out += run_conversations(assistant, args.conversations, args.split, args.llm, args.verbose)
    finally:
        assistant.close()
    if args.json:
        args.json.write_text("".join(json.dumps({k: v for k, v in it.items() if k != "answer"}) + "\n"
                                     for it in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
