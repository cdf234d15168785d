"""The scripts in scripts/ import only what the project still has (a refactor that moves a module breaks them
silently otherwise: they are run by hand, not by the suite)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("assistant", "ingest", "ui")


def _imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) of every `from <ours>... import name` in a file, also inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS:
            out += [(node.lineno, node.module, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "scripts").glob("*.py")))
def test_script_imports_resolve(script):
    missing = []
    for line, module, name in _imports(ROOT / "scripts" / script):
        if importlib.util.find_spec(module) is None:
            missing.append(f"scripts/{script}:{line}: no module {module}")
            continue
        if not hasattr(importlib.import_module(module), name) and importlib.util.find_spec(f"{module}.{name}") is None:
            missing.append(f"scripts/{script}:{line}: {module} has no {name}")
    assert not missing, "\n".join(missing)


def test_snli_rows_map_labels_and_skip_pairs_without_gold(tmp_path):
    """scripts/snli_data.py: SNLI's three labels become the verifier's, sentence1 is the premise; '-' is skipped."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import snli_data
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    lines = [json.dumps({"gold_label": g, "sentence1": f"p{i}", "sentence2": f"h{i}"})
             for i, g in enumerate(["entailment", "contradiction", "neutral", "-"])]
    assert snli_data.rows(lines) == [
        {"claim": "h0", "premise": "p0", "label": "supported", "kind": "snli"},
        {"claim": "h1", "premise": "p1", "label": "contradicted", "kind": "snli"},
        {"claim": "h2", "premise": "p2", "label": "not_enough_info", "kind": "snli"},
    ]
    # The SciFact-phase mix keeps every SciFact pair and supported perturbation, doubles SciFact SUPPORT on request.
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"claim": "c", "premise": "p", "label": "supported", "kind": "scifact_rationale"},
        {"claim": "c", "premise": "p", "label": "supported", "kind": "identity"},
    ] + [{"claim": f"n{i}", "premise": "p", "label": "contradicted", "kind": "negation"} for i in range(40)]))
    mixed = snli_data.mix(tmp_path, snli_data.rows(lines), 2, halve_negatives=True, support_twice=True)
    kinds = [r["kind"] for r in mixed]
    assert kinds.count("scifact_rationale") == kinds.count("scifact_rationale_again") == 1
    assert kinds.count("identity") == 1 and kinds.count("snli") == 2
    assert 10 <= kinds.count("negation") <= 30  # about half of the 40 perturbation negatives
    # The first phase with rewordings: SNLI plus the supported rewordings only, never a perturbation negative.
    first = snli_data.with_rewordings(snli_data.rows(lines), tmp_path)
    assert sorted(r["kind"] for r in first) == ["identity", "snli", "snli", "snli"]
