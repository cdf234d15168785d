"""How the answer path handles the LLM's text as it streams: where it stops reading, what it keeps.

The replies are scripted on purpose (a stand-in for the LLM boundary, not an end-to-end test): these tests are
about our handling of a given reply. tests/test_answer_llm.py runs the real embedded model.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answering.phrase import phrase

TITLES = {1: "Multi-label Cluster Discrimination for Visual Representation Learning",
          2: "Prefix Conditioning Unifies Language and Label Supervision"}
ECHOED = ("MLCD clusters LAION-400M and learns from several pseudo-labels per image [1]. Prefix conditioning tells "
          "the language encoder which kind of dataset an input comes from [2].\n\n"
          "[1] Multi-label Cluster Discrimination for Visual Representation Learning [1]\n"
          "Contrastive Language Image Pre-training (CLIP) has recently demonstrated success across various tasks")


class ScriptedStream:
    """A scripted stand-in for the LLM boundary: streams a canned reply in pieces and records how far it was read."""

    label = "scripted stand-in"

    def __init__(self, reply: str, piece: int = 4):
        self.pieces = [reply[i:i + piece] for i in range(0, len(reply), piece)]
        self.read = 0
        self.closed = False

    def stream(self, system: str, user: str, max_tokens: int | None = None):
        try:
            for p in self.pieces:
                self.read += 1
                yield p
        finally:
            self.closed = True

    def close(self) -> None:
        pass


def test_scripted_reply_copying_the_sources_block_back_is_cut_there_and_the_stream_closed():
    llm = ScriptedStream(ECHOED + " and more of the abstract, " * 40)
    text = "".join(phrase(llm, "system", "user", "comparative", TITLES))
    assert text.rstrip().endswith("comes from [2].")
    assert "Multi-label Cluster Discrimination" not in text
    assert llm.closed and llm.read < len(llm.pieces) / 2  # it stopped reading: the server stops generating


def test_scripted_reply_written_as_numbered_lines_is_kept_whole():
    reply = "Two papers fit:\n[1] clusters web images into pseudo-labels.\n[2] prefixes the dataset type.\n"
    llm = ScriptedStream(reply, piece=3)
    assert "".join(phrase(llm, "system", "user", "topic", TITLES)) == reply
    assert llm.read == len(llm.pieces)


@pytest.fixture(scope="module")
def scripted_assistant(demo_settings, embedder):
    from assistant.service import Assistant

    def make(reply: str):
        return Assistant(replace(demo_settings, extractive=False), embedder=embedder, llm=ScriptedStream(reply))
    return make


def test_scripted_reply_cut_off_mid_sentence_by_the_budget_loses_only_the_fragment(scripted_assistant):
    reply = ("AdvCLIP constructs a universal adversarial patch for a set of natural images that can fool all the "
             "downstream tasks [1]. It also uses a topology-deviation based generative adversarial network to")
    answer = scripted_assistant(reply).ask("how does AdvCLIP build its adversarial patch?")
    assert not answer.extractive, answer.notice
    assert [s.text for s in answer.sentences] == [
        "AdvCLIP constructs a universal adversarial patch for a set of natural images that can fool all the "
        "downstream tasks."]
    assert "generative adversarial network to" not in answer.text


def test_scripted_topic_reply_about_one_paper_still_lists_every_selected_paper(scripted_assistant, extractive_assistant):
    question = "anything on machine unlearning?"
    extractive = extractive_assistant.ask(question)
    assert len(extractive.citations) >= 2  # the store has several unlearning papers
    first = extractive.sentences[0].text
    answer = scripted_assistant(first + " [1].").ask(question)
    assert not answer.extractive, answer.notice
    assert {c.id for c in answer.citations} == {c.id for c in extractive.citations}
    assert answer.sentences[0].text == first  # the model's sentence first, then the extracts it left out
