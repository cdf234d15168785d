"""Retrieval: lexical (BM25) + dense (Chroma) fused per paper, re-ranked by best sentence; names resolved."""
