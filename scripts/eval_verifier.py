"""Measure the verifier on SciFact's labels: each claim against the whole abstract it cites.

Usage: PYTHONPATH=$PWD .venv/bin/python scripts/eval_verifier.py [--splits dev train] [--baseline] [--calibrate]
       [--cache DIR] [--perturbations tests/data/perturbations.jsonl]

Prints, per split and gold label (SUPPORT, CONTRADICT, NEI = claims without evidence in that abstract), the share the
verifier accepts (label == supported), the share of CONTRADICT claims it flags as contradicted, and ms per judgement.
--baseline adds today's resemblance check (0.5*cosine + 0.5*word overlap >= 0.45, assistant/cite.py).
--calibrate sweeps thresholds and signals on the held-out train claims (id % 5 == 0; never dev) and fits the score's
Platt scaling there. tests/data/perturbations.jsonl, when present, is reported per kind (never tuned on).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from assistant import offline

offline.apply()  # the --baseline check embeds: no tokenizer or model download
from assistant.text import evidence_sentences  # noqa: E402
from assistant.verify import SUPPORTED, Verifier, missing_detail  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "eval" / "external" / "scifact" / "original"
PERTURBATIONS = ROOT / "tests" / "data" / "perturbations.jsonl"
PAPERS = ROOT.parent / "shared" / "eval" / "papers.jsonl"  # the demo papers the perturbation set was cut from
GOLD = ("SUPPORT", "CONTRADICT", "NEI")
HOLDOUT_MOD = 5  # as scripts/verifier_data.py: train claims with id % 5 == 0 were never trained on


def scifact_items(split: str, root: Path = SCIFACT) -> list[tuple[str, list[str], str]]:
    """(claim, abstract sentences, gold label) for every claim and each abstract it cites."""
    corpus = {}
    for line in (root / "corpus.jsonl").read_text().splitlines():
        d = json.loads(line)
        corpus[int(d["doc_id"])] = d
    name = {"dev": "claims_dev.jsonl"}.get(split, "claims_train.jsonl")
    out = []
    for line in (root / name).read_text().splitlines():
        cl = json.loads(line)
        if split == "heldout" and cl["id"] % HOLDOUT_MOD:
            continue
        if split == "fit" and not cl["id"] % HOLDOUT_MOD:
            continue
        for doc_id in cl["cited_doc_ids"]:
            doc = corpus.get(int(doc_id))
            if doc is None:
                continue
            sets = cl["evidence"].get(str(doc_id), [])
            gold = "NEI" if not sets else sets[0]["label"]
            out.append((cl["claim"], list(doc["abstract"]), gold))
    return out


def rates(golds: list[str], labels: list[str]) -> dict[str, float]:
    """Accepted share per gold label, and the contradicted share of CONTRADICT claims."""
    by: dict[str, list[str]] = defaultdict(list)
    for g, lab in zip(golds, labels, strict=True):
        by[g].append(lab)
    out = {g: sum(lab == SUPPORTED for lab in by[g]) / max(1, len(by[g])) for g in GOLD}
    out["C→contradicted"] = sum(lab == "contradicted" for lab in by["CONTRADICT"]) / max(1, len(by["CONTRADICT"]))
    out["n"] = len(golds)
    return out


def row(name: str, r: dict[str, float], ms: float | None = None) -> str:
    """One table row."""
    cells = " | ".join(f"{r[g]:.3f}" for g in (*GOLD, "C→contradicted"))
    return f"| {name} | {int(r['n'])} | {cells} | {'' if ms is None else f'{ms:.0f}'} |"


HEADER = ("| check | pairs | SUPPORT accepted | CONTRADICT accepted | NEI accepted | CONTRADICT → contradicted "
          "| ms/judgement |\n|---|---|---|---|---|---|---|")


def time_single(verifier: Verifier, items, n: int = 40) -> float:
    """p50 ms of judge() on one claim vs its first 10 abstract sentences."""
    ts = []
    for claim, prem, _ in items[:n]:
        t = time.perf_counter()
        verifier.judge(claim, prem[:10])
        ts.append(1000 * (time.perf_counter() - t))
    return float(np.median(ts))


def baseline_labels(items) -> list[str]:
    """Today's resemblance check on the same items (needs the shared venv: llama-index, PyStemmer)."""
    from assistant.answering.cite import SUPPORT_THRESHOLD, CitableSource, support_scores
    from assistant.embed import MiniLMEmbedding

    emb = MiniLMEmbedding()
    out = []
    for claim, prem, _ in items:
        src = CitableSource.from_parts(1, "d", "", "", prem, emb.embed(prem), np.zeros(384, dtype=np.float32))
        src.sentences, src.vectors, src.word_sets = src.sentences[1:], src.vectors[1:], src.word_sets[1:]
        score, _ = support_scores(claim, emb.embed([claim])[0], [src])[0]
        out.append(SUPPORTED if score >= SUPPORT_THRESHOLD else "not_enough_info")
    return out


# --- calibration on held-out train claims ------------------------------------------------------------------------


def raw_probabilities(verifier: Verifier, items) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per item: (single-sentence probabilities, window probabilities around the 2 best sentences)."""
    out = []
    for claim, prem, _ in items:
        p = verifier.probabilities([(s, claim) for s in prem])
        seeds = np.argsort(-p[:, 0])[:2]
        wins = sorted({(a, a + 1) for i in seeds for a in (int(i) - 1, int(i)) if 0 <= a and a + 1 < len(prem)})
        w = verifier.probabilities([(prem[a] + " " + prem[b], claim) for a, b in wins])
        out.append((p, w))
    return out


def simulate(items, raw, ts: float, tc: float, windows: bool, signals: tuple[str, ...]) -> list[str]:
    """Labels as Verifier._decide would give them at these settings."""
    labels = []
    for (claim, prem, _), (p, w) in zip(items, raw, strict=True):
        q = np.vstack([p, w]) if windows and len(w) and p[:, 0].max() < ts else p
        sup, con = float(q[:, 0].max()), float(q[:, 1].max())
        if con >= tc and con > sup:
            labels.append("contradicted")
        elif sup >= ts and not missing_detail(claim, prem, signals):
            labels.append(SUPPORTED)
        else:
            labels.append("not_enough_info")
    return labels


def platt(items, raw) -> tuple[float, float]:
    """Fit P(gold SUPPORT) = sigmoid(a * logit(best support) + b) by gradient descent on the log loss."""
    x = np.array([math.log(max(min(float(p[:, 0].max()), 1 - 1e-6), 1e-6) / (1 - max(min(float(p[:, 0].max()),
                  1 - 1e-6), 1e-6))) for p, _ in raw])
    y = np.array([g == "SUPPORT" for _, _, g in items], dtype=float)
    a, b = 1.0, 0.0
    for _ in range(5000):
        z = 1 / (1 + np.exp(-(a * x + b)))
        a -= 0.05 * float(np.mean((z - y) * x))
        b -= 0.05 * float(np.mean(z - y))
    return a, b


def calibrate(verifier: Verifier, items, cache: Path | None = None) -> None:
    """Print the threshold / signal sweep on the given (held-out train) items."""
    raw = cached_raw(verifier, "heldout", items, cache)
    golds = [g for _, _, g in items]
    print(HEADER)
    for signals in ((), ("number",), ("name",), ("number", "name")):
        for windows in (False, True):
            for ts in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
                for tc in (0.5, 0.6, 0.7, 0.8):
                    r = rates(golds, simulate(items, raw, ts, tc, windows, signals))
                    print(row(f"sig={'+'.join(signals) or '-'} win={int(windows)} ts={ts} tc={tc}", r))
    print("platt (a, b):", platt(items, raw))


def perturbation_report(verifier: Verifier, path: Path = PERTURBATIONS) -> None:
    """Accuracy per kind on the perturbation set: original/paraphrase accepted, the rest not accepted."""
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    # Against the whole abstract, as tests/test_perturbations.py and the answers judge (the set's README says so):
    # the source sentence alone flatters a strict model's flags and hides where it fails to find support.
    papers = {p["id"]: p["abstract"] for p in map(json.loads, PAPERS.read_text().splitlines())}
    verdicts = verifier.judge_many([(r["claim"], evidence_sentences(papers[r["paper_id"]])) for r in rows])
    by: dict[str, list[int]] = defaultdict(list)
    exact: dict[str, list[int]] = defaultdict(list)
    for r, v in zip(rows, verdicts, strict=True):
        want_ok = r["expected"] == SUPPORTED
        by[r["kind"]].append(int((v.label == SUPPORTED) == want_ok))
        exact[r["kind"]].append(int(v.label == r["expected"]))
    print(f"\nperturbations ({path.name}, {len(rows)} pairs, each against its paper's whole abstract): "
          "accepted-or-flagged as expected / exact label")
    for kind in sorted(by):
        print(f"  {kind:12s} n={len(by[kind]):4d}  {sum(by[kind]) / len(by[kind]):.3f}  "
              f"{sum(exact[kind]) / len(exact[kind]):.3f}")


def variants(verifier: Verifier) -> list[tuple[str, bool, tuple[str, ...]]]:
    """The candidates reported side by side: (name, windows, signals); the last one is what ships."""
    return [("model, single sentences", False, ()), ("model + windows", True, ()),
            ("model + windows + number check", True, ("number",)), ("model + windows + name check", True, ("name",)),
            (f"shipped (windows={int(verifier.windows)}, signals={'+'.join(verifier.signals) or '-'})",
             verifier.windows, verifier.signals)]


def cached_raw(verifier: Verifier, split: str, items, cache: Path | None):
    """raw_probabilities, kept in `cache` (keyed by model hash and split) so a re-report costs no model time."""
    from assistant.verify import MODEL_FILE

    if cache is None:
        return raw_probabilities(verifier, items)
    path = cache / f"raw-{MODEL_FILE[1][:12]}-{split}.npz"
    if path.is_file():
        data = np.load(path)
        return [(data[f"p{i}"], data[f"w{i}"]) for i in range(len(items))]
    raw = raw_probabilities(verifier, items)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"p{i}": p for i, (p, _) in enumerate(raw)}, **{f"w{i}": w for i, (_, w) in enumerate(raw)})
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="+", default=["dev", "train"], choices=["dev", "train", "heldout", "fit"])
    parser.add_argument("--baseline", action="store_true", help="also run today's resemblance check")
    parser.add_argument("--calibrate", action="store_true", help="threshold sweep on held-out train claims")
    parser.add_argument("--model-dir", type=Path, default=None, help="a verifier_model folder to measure")
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep model outputs in between runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--perturbations", type=Path, default=PERTURBATIONS, help="perturbation set (report only)")
    args = parser.parse_args()
    if args.model_dir:  # a candidate being measured: trust the file in that folder (the shipped pin is for use)
        import assistant.verify as verify
        from assistant.hashing import file_sha256

        verify.MODEL_FILE = (verify.MODEL_FILE[0], file_sha256(args.model_dir / verify.MODEL_FILE[0]))
    verifier = Verifier(threads=args.threads, model_dir=args.model_dir)
    if args.calibrate:
        calibrate(verifier, scifact_items("heldout"), args.cache)
        return
    print(f"thresholds: support {verifier.support_threshold}, contradiction {verifier.contradict_threshold}")
    print(HEADER)
    for split in args.splits:
        items = scifact_items(split)
        golds = [g for _, _, g in items]
        if args.baseline:
            print(row(f"{split}: resemblance ≥ 0.45 (today)", rates(golds, baseline_labels(items))), flush=True)
        from assistant.verify import MODEL_FILE

        cached = args.cache is not None and (args.cache / f"raw-{MODEL_FILE[1][:12]}-{split}.npz").is_file()
        start = time.perf_counter()
        raw = cached_raw(verifier, split, items, args.cache)
        # Model time per claim-abstract pair (singles + windows); not shown when it came from the cache.
        ms = None if cached else 1000 * (time.perf_counter() - start) / max(1, len(items))
        for name, windows, signals in variants(verifier):
            labels = simulate(items, raw, verifier.support_threshold, verifier.contradict_threshold, windows, signals)
            print(row(f"{split}: {name}", rates(golds, labels), ms), flush=True)
    dev = scifact_items("dev")
    print(f"\njudge() p50 for 10 premise sentences, {args.threads} threads: {time_single(verifier, dev):.0f} ms")
    if args.perturbations.is_file():
        perturbation_report(verifier, args.perturbations)


if __name__ == "__main__":
    main()
