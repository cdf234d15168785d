"""The understanding step on the labelled paraphrase set and conversations (tests/data, see its README).

Aggregate floors are the test-split figures measured with scripts/eval_understanding.py minus a small margin; the
rules were tuned on the train split only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.records import StoredPaper
from assistant.retrieval.names import NameIndex

DATA = Path(__file__).resolve().parent / "data"
NAMED_KINDS = ("summary", "comparative")


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def judged(extractive_assistant) -> list[dict]:
    """Every paraphrase-set question through understanding and selection (no answer text needed)."""
    out = []
    for q in _load("questions_casual.jsonl"):
        u = extractive_assistant.answerer.understand(q["question"])
        _, sel = extractive_assistant.answerer.select(u, 5)
        out.append({**q, "u": u, "chosen": {s.id for s in sel.chosen}, "refused": sel.refusal is not None})
    return out


def _figures(items: list[dict]) -> dict:
    ans = [it for it in items if it["gold_ids"]]
    unans = [it for it in items if not it["gold_ids"]]
    cited = sum(len(it["chosen"]) for it in ans)
    correct = sum(len(it["chosen"] & set(it["gold_ids"])) for it in ans)
    named = [set(it["u"].papers) == set(it["gold_ids"]) for it in ans if it["kind"] == "summary"]
    return {"false_refusals": sum(it["refused"] for it in ans), "answerable": len(ans),
            "unanswerable_refused": sum(it["refused"] for it in unans) / len(unans),
            "precision": correct / cited, "recall": correct / sum(len(it["gold_ids"]) for it in ans),
            "kind": sum(it["u"].kind == it["kind"] for it in ans) / len(ans),
            "summary_named": sum(named) / len(named)}


def test_paraphrase_test_split_is_understood(judged):
    f = _figures([it for it in judged if it["split"] == "test"])
    # measured (extractive selection): 1 of 72 false refusals, 0.905 refused, P 0.913, R 0.868, kind 0.889, named 1.0
    assert f["false_refusals"] <= 2, f
    assert f["unanswerable_refused"] >= 0.85, f
    assert f["precision"] >= 0.88 and f["recall"] >= 0.84, f
    assert f["kind"] >= 0.85 and f["summary_named"] >= 0.9, f


@pytest.mark.parametrize("style", ["formal", "casual_lower", "typo", "terse", "imperative", "long_context"])
def test_every_style_is_answered(judged, style):
    f = _figures([it for it in judged if it["style"] == style])
    assert f["false_refusals"] <= 1 and f["recall"] >= 0.78, f  # measured: at most 1, recall 0.81-0.96


def test_casual_summary_names_the_paper_and_is_never_refused(extractive_assistant):
    for text, title in [("tldr loki", "Geometry-Aware Adaptation for Pretrained Models"),
                        ("eli5 grocO", "Learning by Sorting"), ("what is G-SimCRL about", "G-SimCLR"),
                        ("whats the deal with musc", "MuSc")]:
        u = extractive_assistant.answerer.understand(text)
        _, sel = extractive_assistant.answerer.select(u, 5)
        assert u.kind == "summary" and sel.refusal is None, (text, u)
        assert [s.title for s in sel.chosen][0].startswith(title), (text, sel.chosen)


def test_three_way_comparison_keeps_every_side_in_order(extractive_assistant):
    ans = extractive_assistant.ask("Hydra vs AMCL vs GroCo")
    assert ans.kind == "comparative" and not ans.refused
    assert [c.title.split(":")[0] for c in ans.table.papers] == [
        "Rethinking Positive Pairs in Contrastive Learning", "Adaptive Multi-head Contrastive Learning",
        "Learning by Sorting"]
    assert all(len(cell.text.split()) <= 26 for row in ans.table.cells for cell in row)  # 25 words + "…"


def test_a_stated_approach_is_not_shown_as_not_stated(extractive_assistant):
    ans = extractive_assistant.ask("How do AdvCLIP and Unlearnable Clusters differ?")
    approach = ans.table.cells[list(ans.table.aspects).index("approach")]
    assert all(cell.citation is not None for cell in approach), approach


def test_a_detail_the_abstract_does_not_state_is_refused_even_casually(extractive_assistant):
    for text in ["what gpu did they use for FoundPsoe", "whats the licnse of the CIFAKE dataset",
                 "List the authors of the GeneCIS paper."]:
        u = extractive_assistant.answerer.understand(text)
        _, sel = extractive_assistant.answerer.select(u, 5)
        assert sel.refusal is not None and sel.refusal.reason == "detail_missing", (text, u)


def test_a_stated_licence_is_answered(extractive_assistant):
    u = extractive_assistant.answerer.understand("Which dataset in the collection is released under the MIT licence?")
    _, sel = extractive_assistant.answerer.select(u, 5)
    assert sel.refusal is None and sel.chosen[0].title.startswith("AnyPattern")


def _paper(pid: str, title: str, abstract: str) -> StoredPaper:
    return StoredPaper(pid, title, abstract)


def test_name_index_prefers_an_exact_name_over_a_longer_one_and_tolerates_typos():
    idx = NameIndex({
        "wild": _paper("wild", "WILD: a new in-the-Wild Image Linkage Dataset", "We present WILD, a dataset."),
        "wilds": _paper("wilds", "Extending the WILDS Benchmark for Unsupervised Adaptation", "WILDS 2.0 adds data."),
        "advclip": _paper("advclip", "AdvCLIP: Downstream-agnostic Adversarial Examples", "We propose AdvCLIP."),
        "pass": _paper("pass", "PASS: An ImageNet replacement", "PASS contains no people. You pass the test."),
    })
    assert [m.pid for m in idx.find("license of the WILD dataset")] == ["wild"]
    assert [m.pid for m in idx.find("what about wilds")] == ["wilds"]
    assert [(m.pid, m.exact) for m in idx.find("tldr advclp")] == [("advclip", False)]
    assert [m.pid for m in idx.find("does it pass the test")] == []  # a word the corpus writes in lower case
    assert [m.pid for m in idx.find("PASS vs WILD")] == ["pass", "wild"]


@pytest.fixture(scope="module")
def conversation_turns(extractive_assistant) -> list[dict]:
    """Every conversation turn answered in order with the earlier turns as history (as `ask --batch` does)."""
    histories: dict[str, list] = {}
    out = []
    for t in _load("conversations.jsonl"):
        history = histories.setdefault(t["conversation"], [])
        ans = extractive_assistant.ask(t["question"], history=list(history), extractive=True)
        history.append((t["question"], ans))
        out.append({**t, "answer": ans, "cited": {c.id for c in ans.citations}})
    return out


def test_follow_up_turns_cite_the_papers_they_refer_to(conversation_turns):
    follow = [t for t in conversation_turns if t["turn"] > 1 and t["gold_ids"]]
    recall = sum(len(t["cited"] & set(t["gold_ids"])) for t in follow) / sum(len(t["gold_ids"]) for t in follow)
    assert recall >= 0.88, recall  # measured: 0.966 on odd (train) conversations, 0.931 on even ones


def test_ordinal_follow_up_counts_the_papers_in_the_order_named(conversation_turns):
    turns = {(t["conversation"], t["turn"]): t for t in conversation_turns}
    second = turns[("c-02", 2)]
    assert second["cited"] == set(second["gold_ids"]), second
    assert "CIFAKE" in second["answer"].standalone_question


@pytest.mark.parametrize("claim", [
    "Blocking the interaction between TDP-43 and respiratory complex I proteins ND3 and ND6 prevents neuron loss.",
    "Sweet taste receptors on the tongue are deactivated by between 1 and 10 mM glucose.",
    "Cellular differentiation of embryonic stem cells is accompanied by changes in replication timing.",
])
def test_a_relating_between_or_differentiation_is_not_a_comparison(claim):
    from assistant.answering.understand import compares

    assert not compares(claim)


@pytest.mark.parametrize("question", ["difrence between SIU and label agnostic forgeting", "hydra vs groco",
                                      "We're choosing between SkyScript and LAION-5B. How do they differ?",
                                      "dsaif bcp and sss whats different between them"])
def test_comparison_wordings_still_compare(question):
    from assistant.answering.understand import compares

    assert compares(question)


def test_a_lookup_lists_its_sources_in_retrieval_order(extractive_assistant):
    """The one ranking: a lookup's sources are retrieval's order even when the answer draws on a named paper."""
    a = extractive_assistant
    u = a.answerer.understand("which work builds a benchmark that tests CIFAKE?")
    _, sel = a.answerer.select(u, 5)
    ranked = [s.id for _, s in a.library.rank(a.library.query(u.standalone), k=10)]
    assert u.kind == "lookup" and [s.id for s in sel.chosen] == [ranked[1]]  # the named paper, ranked second
    assert sel.chosen[0].id.startswith("cifake")
    assert [s.id for s in sel.shown] == ranked[: len(sel.shown)]
