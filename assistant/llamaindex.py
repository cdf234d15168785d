"""The LlamaIndex boundary: paperchat as a LlamaIndex retriever and query engine (the only module importing it).

    engine = PaperchatQueryEngine.from_settings(load_settings())
    response = engine.query("Which attack builds a universal adversarial patch against CLIP?")
    response.response, [n.node.metadata["title"] for n in response.source_nodes]

`source_nodes` are the papers the verified answer cites, each with its supporting evidence sentences, so a
LlamaIndex agent can use paperchat as a `QueryEngineTool` and still show where every claim came from.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr

from assistant.embed import MiniLMEmbedding
from assistant.records import Answer, Source
from assistant.service import Assistant
from assistant.settings import Settings


def _node(src: Source, evidence: list[str] | None = None, n: int | None = None) -> NodeWithScore:
    meta = {"paper_id": src.id, "title": src.title, "url": src.url, "authors": list(src.paper.authors),
            "published": src.paper.published_text}
    if evidence is not None:
        meta.update(citation=n, evidence=evidence)
    node = TextNode(id_=src.id, text=f"{src.title}\n{src.abstract}", metadata=meta,
                    excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=["evidence", "citation"])
    return NodeWithScore(node=node, score=src.score)


class PaperRetriever(BaseRetriever):
    """paperchat's hybrid ranking as a LlamaIndex retriever: one NodeWithScore per paper, best first."""

    def __init__(self, assistant: Assistant, k: int = 5):
        self._assistant = assistant
        self._k = k
        super().__init__()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [_node(s) for s in self._assistant.retrieve(query_bundle.query_str, k=self._k)]


class PaperchatQueryEngine(CustomQueryEngine):
    """The whole verified answer path as a LlamaIndex query engine."""

    assistant: Any  # an assistant.service.Assistant (pydantic cannot validate it)

    @classmethod
    def from_settings(cls, settings: Settings) -> PaperchatQueryEngine:
        """An engine over the store the settings name (the embedded LLM starts on the first query)."""
        return cls(assistant=Assistant(settings))

    def custom_query(self, query_str: str) -> Response:
        """Answer with citations; source_nodes are the cited papers with their verified evidence."""
        answer: Answer = self.assistant.ask(query_str)
        by_id = {s.id: s for s in answer.sources}
        nodes = []
        for c in answer.citations:
            evidence = [s.evidence for s in answer.sentences if c.n in s.citations and s.evidence]
            if c.id in by_id:
                nodes.append(_node(by_id[c.id], evidence, c.n))
        return Response(response=answer.text, source_nodes=nodes,
                        metadata={"refused": answer.refused, "kind": answer.kind, "extractive": answer.extractive,
                                  "sentences": [{"text": s.text, "citations": list(s.citations),
                                                 "verdict": s.verdict} for s in answer.sentences]})


class LlamaMiniLM(BaseEmbedding):
    """paperchat's offline embedder for LlamaIndex components that need an embed_model."""

    _model: MiniLMEmbedding = PrivateAttr()

    def __init__(self, model: MiniLMEmbedding, **kwargs):
        super().__init__(model_name=model.model_name, **kwargs)
        self._model = model

    @classmethod
    def class_name(cls) -> str:
        return "PaperchatMiniLM"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._model.embed([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
