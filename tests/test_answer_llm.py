"""Answer kinds with the real embedded LLM (llama.cpp server): comparison and summary stay cited and checked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

GROCO = "Learning by Sorting: Self-supervised Learning with Group Ordering Constraints"
AMCL = "Adaptive Multi-head Contrastive Learning"


def test_comparison_with_embedded_llm_cites_both_papers_and_has_a_table(llm_assistant):
    ans = llm_assistant.ask("How do GroCo and AMCL each change the way positive- and negative-pair similarities "
                            "enter the contrastive loss?")
    assert ans.kind == "comparative" and not ans.refused and not ans.extractive, ans.notice
    assert {c.title for c in ans.citations} == {GROCO, AMCL}
    assert {p.title for p in ans.table.papers} == {GROCO, AMCL}
    numbers = {c.n for c in ans.citations}
    assert all(set(s.citations) <= numbers for s in ans.sentences)
    assert any(s.supported for s in ans.sentences)


def test_summary_with_embedded_llm_cites_only_the_named_paper(llm_assistant):
    ans = llm_assistant.ask("Give a citation-backed summary of 'CIFAKE: Image Classification and Explainable "
                            "Identification of AI-Generated Synthetic Images'.")
    assert ans.kind == "summary" and not ans.refused and not ans.extractive, ans.notice
    assert [c.title.split(":")[0] for c in ans.citations] == ["CIFAKE"]
    assert sum(s.supported for s in ans.sentences) >= 2


def test_casual_summary_with_embedded_llm_is_answered_and_cites_the_named_paper(llm_assistant):
    ans = llm_assistant.ask("tldr loki")
    assert ans.kind == "summary" and not ans.refused, ans.refusal
    assert [c.title for c in ans.citations] == ["Geometry-Aware Adaptation for Pretrained Models"]
