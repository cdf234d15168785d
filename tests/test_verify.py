"""The verifier: the shipped model loads (hash checked), clear cases on demo-corpus sentences, the API contract."""

from __future__ import annotations

import shutil

import pytest

from assistant.errors import ConfigError
from assistant.verify import LABELS, MODEL_DIR, MODEL_FILE, Verdict, Verifier, missing_detail, numbers

# Sentences from data/demo/daily-papers.txt (AdvCLIP and a self-supervised learning abstract).
ADVCLIP = [
    "Multimodal contrastive learning aims to train a general-purpose feature extractor, such as CLIP, on vast amounts "
    "of raw, unlabeled paired image-text data.",
    "Despite its promising prospect, the security issue of cross-modal pre-trained encoder has not been fully "
    "explored yet, especially when the pre-trained encoder is publicly available for commercial use.",
    "In this work, we propose AdvCLIP, the first attack framework for generating downstream-agnostic adversarial "
    "examples based on cross-modal pre-trained encoders.",
    "Then, we design a topology-deviation based generative adversarial network to generate a universal adversarial "
    "patch.",
]
SSL = [
    "We present a simple framework for contrastive learning of visual representations.",
    "A linear classifier trained with the representations learned using this approach yields 76.5% top-1 accuracy "
    "on the ImageNet ILSVRC-2012 dataset.",
    "We show that composition of data augmentations plays a critical role in defining effective predictive tasks.",
]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(threads=2)


def test_shipped_model_loads(verifier):
    v = verifier.judge(ADVCLIP[2], ADVCLIP)
    assert isinstance(v, Verdict)


def test_corrupted_model_is_refused(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    with open(folder / MODEL_FILE[0], "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ConfigError, match="sha256"):
        Verifier(model_dir=folder)


def test_original_sentence_is_supported_by_itself(verifier):
    v = verifier.judge(ADVCLIP[2], ADVCLIP)
    assert v.label == "supported"
    assert ADVCLIP[2] in v.evidence
    assert v.score > 0.5


def test_answer_style_rephrasing_is_supported(verifier):
    claim = ("AdvCLIP is the first attack framework for generating downstream-agnostic adversarial examples based "
             "on cross-modal pre-trained encoders.")
    assert verifier.judge(claim, ADVCLIP).label == "supported"


@pytest.mark.xfail(strict=True, reason="known weakness of the shipped model: the 2-sentence window around the premise "
                   "scores this negation p=0.67 supported (the previous model flagged it); see issue 12")
def test_negation_is_not_supported(verifier):
    claim = ("The security issue of cross-modal pre-trained encoders has been fully explored, especially when the "
             "pre-trained encoder is publicly available for commercial use.")
    v = verifier.judge(claim, ADVCLIP)
    assert v.label != "supported"


def test_negation_of_a_single_premise_is_not_supported(verifier):
    claim = "Multimodal contrastive learning does not train a general-purpose feature extractor such as CLIP."
    assert verifier.judge(claim, ADVCLIP[:1]).label != "supported"


def test_changed_number_is_not_supported(verifier):
    claim = ("A linear classifier trained with the representations learned using this approach yields 86.5% top-1 "
             "accuracy on the ImageNet ILSVRC-2012 dataset.")
    v = verifier.judge(claim, SSL)
    assert v.label != "supported"
    assert v.score < 0.5


def test_unrelated_claim_is_not_enough_info(verifier):
    claim = "The model translates speech between 40 languages in real time."
    assert verifier.judge(claim, SSL + ADVCLIP).label == "not_enough_info"


def test_empty_premises_are_not_enough_info(verifier):
    v = verifier.judge("AdvCLIP attacks CLIP.", [])
    assert v == Verdict("not_enough_info", 0.0, (), "no premises")


def test_judge_many_contract(verifier):
    items = [(ADVCLIP[2], ADVCLIP), (SSL[0], SSL), ("Nothing here.", ["", "  "]), (SSL[2], SSL + ADVCLIP)]
    verdicts = verifier.judge_many(items)
    assert len(verdicts) == len(items)
    for (_, premises), v in zip(items, verdicts, strict=True):
        assert v.label in LABELS
        assert 0.0 <= v.score <= 1.0
        assert all(sentence in premises for sentence in v.evidence)
    assert verdicts[2].label == "not_enough_info" and verdicts[2].evidence == ()
    # Batched and one-by-one judgements agree.
    assert [v.label for v in verdicts] == [verifier.judge(c, p).label for c, p in items]


def test_numbers_are_normalised_and_names_are_not_numbers():
    assert numbers("yields 76.50% on 1,000 images with CD4 cells and H1N1") == {"76.5", "1000"}
    assert numbers("two tasks across eight datasets, one model") == {"2", "8"}


def test_missing_detail_names_the_number_or_name():
    assert missing_detail("It reaches 86.5% accuracy.", SSL) == "number 86.5 not in evidence"
    assert missing_detail("SimCLR reaches 76.5% accuracy.", SSL) == "name SimCLR not in evidence"
    assert missing_detail("It reaches 76.5% accuracy on ImageNet.", SSL) == ""
