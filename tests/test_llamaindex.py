"""paperchat as a LlamaIndex retriever and query engine: the README's example, run for real."""

from __future__ import annotations

from dataclasses import replace

ADVCLIP = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"


def test_readme_query_engine_example_runs(demo_settings):
    from assistant.llamaindex import PaperchatQueryEngine

    # The README's example, with the demo store and extractive answers (no LLM) so the test is quick.
    engine = PaperchatQueryEngine.from_settings(replace(demo_settings, extractive=True))
    response = engine.query("Which attack builds a universal adversarial patch against CLIP-like encoders?")
    titles = [n.node.metadata["title"] for n in response.source_nodes]

    assert titles and titles[0].startswith("AdvCLIP")
    assert "[1]" in response.response
    assert response.source_nodes[0].node.metadata["evidence"], "cited nodes carry their verified evidence"
    assert response.metadata["sentences"][0]["verdict"] == "supported"


def test_paper_retriever_returns_one_node_per_paper(extractive_assistant):
    from assistant.llamaindex import PaperRetriever

    nodes = PaperRetriever(extractive_assistant, k=5).retrieve("universal adversarial patch against CLIP")
    ids = [n.node.node_id for n in nodes]
    assert ids[0] == ADVCLIP and len(ids) == len(set(ids)) == 5
    assert ids == [s.id for s in extractive_assistant.retrieve("universal adversarial patch against CLIP", k=5)]


def test_query_engine_tool_wraps_paperchat_for_an_agent(demo_settings):
    from llama_index.core.tools import QueryEngineTool

    from assistant.llamaindex import PaperchatQueryEngine

    tool = QueryEngineTool.from_defaults(PaperchatQueryEngine.from_settings(replace(demo_settings, extractive=True)),
                                         name="papers", description="Cited answers about the paper abstracts")
    out = tool.call("Summarise the AdvCLIP paper.")
    assert "AdvCLIP" in str(out) and out.raw_output.source_nodes
