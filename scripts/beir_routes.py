"""SciFact nDCG@10 per understanding route: which route each claim takes and what it costs against the re-ranked list.

    PYTHONPATH=$PWD python scripts/beir_routes.py [--split train|test]

Each claim goes through understanding and selection (what `eval --beir` measures as the product ranking) and
through the plain re-ranked list (`Library.rank`); rows group claims by (kind, reason, papers named) and print the
mean of both and the summed loss. Rules that route claims are tuned on train with this, then test is run once.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from assistant import offline

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "eval" / "external" / "scifact"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="train", choices=("train", "test"))
    ap.add_argument("--folder", type=Path, default=SCIFACT)
    args = ap.parse_args()
    offline.apply()
    from assistant.evaluation.beir import beir_store, load_qrels
    from assistant.evaluation.metrics import mean, ndcg_at_k
    from assistant.service import Assistant
    from assistant.settings import load_settings

    store, ids = beir_store(args.folder / "corpus.jsonl", load_settings())
    queries = {(o := json.loads(line))["_id"]: o["text"] for line in open(args.folder / "queries.jsonl")}
    assistant = Assistant(store)
    lib = assistant.library
    groups: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    for qid, relevant in load_qrels(args.folder / "qrels" / f"{args.split}.tsv").items():
        u = assistant.answerer.understand(queries[qid])
        _, sel = assistant.answerer.select(u, 100, None)
        product = ndcg_at_k([ids.get(s.id, s.id) for s in sel.shown], relevant, 10)
        plain = ndcg_at_k([ids.get(s.id, s.id) for _, s in lib.rank(lib.query(queries[qid]), k=100)], relevant, 10)
        groups[(u.kind, u.reason, min(len(u.papers), 2))].append((product, plain))
    every = [pair for rows in groups.values() for pair in rows]
    print(f"{args.split}: {len(every)} claims, product ranking {mean([p for p, _ in every]):.4f}, "
          f"re-ranked list {mean([r for _, r in every]):.4f}")
    for (kind, reason, named), rows in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"{kind:12} {reason[:44]:44} named {named}{'+' if named == 2 else ' '} n {len(rows):4}  "
              f"product {mean([p for p, _ in rows]):.3f}  list {mean([r for _, r in rows]):.3f}  "
              f"summed loss {sum(r - p for p, r in rows):+.2f}")


if __name__ == "__main__":
    main()
