"""Citation attribution: our code, not the model, decides what each sentence cites.

The LLM replies here are scripted on purpose: these tests are about how we handle a given reply.
"""

from __future__ import annotations

import pytest

from assistant.answering.cite import CitableSource, attribute, parse_markers, render, renumber, split_answer

ADV = ("AdvCLIP: Downstream-agnostic Adversarial Examples in Multimodal Contrastive Learning",
       "In this work, we propose AdvCLIP, the first attack framework for generating downstream-agnostic adversarial "
       "examples based on cross-modal pre-trained encoders. AdvCLIP aims to construct a universal adversarial patch "
       "for a set of natural images that can fool all the downstream tasks inheriting the victim cross-modal "
       "pre-trained encoder.")
BIMIX = ("Bi-Mix: Bidirectional Mixing for Domain Adaptive Nighttime Semantic Segmentation",
         "We study Domain Adaptive Nighttime Semantic Segmentation. We propose a Bidirectional Mixing framework that "
         "mixes day and night images to improve nighttime image relighting and segmentation adaptation.")


@pytest.fixture(scope="module")
def sources(embedder):
    return [CitableSource.build(1, "adv", ADV[0], ADV[1], "", embedder.embed),
            CitableSource.build(2, "bimix", BIMIX[0], BIMIX[1], "", embedder.embed)]


def test_parse_markers_handles_lists_ranges_and_source_words():
    assert parse_markers("It works [1][3].") == ("It works.", [1, 3])
    assert parse_markers("It works [1, 2].") == ("It works.", [1, 2])
    assert parse_markers("It works [1-3].") == ("It works.", [1, 2, 3])
    assert parse_markers("As Source 2 says, it works.")[1] == [2]


def test_split_answer_drops_bullets_and_headings():
    assert split_answer("## Answer\n- First point [1].\n- Second point [2].") == ["First point [1].",
                                                                                "Second point [2]."]


def test_scripted_reply_wrong_citation_number_is_corrected(sources, embedder):
    reply = "AdvCLIP builds a universal adversarial patch that fools downstream tasks of pre-trained encoders [2]."
    [s] = attribute(reply, sources, embedder.embed)
    assert s.supported and s.citations == (1,)
    assert "universal adversarial patch" in s.evidence


def test_scripted_reply_citation_to_unretrieved_paper_is_dropped(sources, embedder):
    reply = "Bi-Mix mixes day and night images to adapt segmentation to the night domain [7]."
    [s] = attribute(reply, sources, embedder.embed)
    assert s.citations == (2,)


def test_scripted_reply_uncitable_sentence_is_flagged_and_can_be_dropped(sources, embedder):
    reply = ("AdvCLIP constructs a universal adversarial patch for natural images [1]. "
             "The authors trained it for three weeks on a quantum computer in Antarctica [1].")
    sents = attribute(reply, sources, embedder.embed)
    assert [s.supported for s in sents] == [True, False]
    assert sents[1].citations == (1,)  # the paper it cites is what verification judges it against
    assert "[unsupported]" in render(sents, "flag")
    assert "Antarctica" not in render(sents, "drop")


def test_scripted_comparison_sentence_cites_both_named_papers(sources, embedder):
    reply = "AdvCLIP attacks pre-trained encoders with an adversarial patch, while Bi-Mix mixes day and night images."
    [s] = attribute(reply, sources, embedder.embed)
    assert sorted(s.citations) == [1, 2]


def test_renumber_is_contiguous_by_first_appearance(sources, embedder):
    reply = "Bi-Mix mixes day and night images [2]. AdvCLIP builds a universal adversarial patch [1]."
    sents, cites = renumber(attribute(reply, sources, embedder.embed), sources)
    assert [c.id for c in cites] == ["bimix", "adv"]
    assert [s.citations for s in sents] == [(1,), (2,)]


def test_scripted_meta_sentence_about_the_sources_is_dropped(sources, embedder):
    reply = "The answer is in these abstracts. AdvCLIP constructs a universal adversarial patch for natural images [1]."
    sents = attribute(reply, sources, embedder.embed)
    assert [s.text for s in sents] == ["AdvCLIP constructs a universal adversarial patch for natural images."]
