"""The int8 embedder derived at set-up: reproducible, and faithful to the packaged float model."""

from __future__ import annotations

import numpy as np

from assistant.embed import MODEL_FILE, QUANTIZED_FILE, locate_package_file, quantized_model
from assistant.hashing import file_sha256

TEXTS = ["AdvCLIP builds a universal adversarial patch against CLIP-like encoders.",
         "We propose a contrastive method for graph representation learning without labels.",
         "How do GroCo and AMCL differ in how they build positive pairs?",
         "Masked image modeling reconstructs missing patches from the visible ones."]


def test_derived_model_is_rebuilt_identically(tmp_path):
    path = quantized_model(tmp_path)  # a fresh cache folder: derived from the packaged model here
    assert path.parent == tmp_path and file_sha256(path) == QUANTIZED_FILE[1]
    assert [p.name for p in tmp_path.iterdir()] == [QUANTIZED_FILE[0]]  # no temporary files left behind


def test_int8_vectors_match_the_packaged_float_model(embedder):
    import onnxruntime as ort

    session = ort.InferenceSession(str(locate_package_file(*MODEL_FILE)), providers=["CPUExecutionProvider"])
    reference = np.vstack([embedder._embed_batch([t], session) for t in TEXTS])
    ours = embedder.embed(TEXTS)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() > 0.98, cosine
    # Same ranking of texts for a question as the float model.
    q = embedder.embed(["universal adversarial patch for CLIP"])[0]
    assert np.argmax(ours @ q) == np.argmax(reference @ q) == 0


def test_dropping_the_nan_guards_changes_no_vector(embedder, tmp_path):
    import onnx
    import onnxruntime as ort

    from assistant.embed import DISABLED_FUSIONS, derive_int8

    ops = {node.op_type for node in onnx.load(str(embedder._model_path)).graph.node}
    assert "IsNaN" not in ops and "Softmax" in ops
    kept = derive_int8(locate_package_file(*MODEL_FILE), tmp_path, drop_nan_guards=False)
    assert "IsNaN" in {node.op_type for node in onnx.load(str(kept)).graph.node}
    with_guards = ort.InferenceSession(str(kept), providers=["CPUExecutionProvider"],
                                       disabled_optimizers=DISABLED_FUSIONS)
    reference = np.vstack([embedder._embed_batch([t], with_guards) for t in TEXTS])
    np.testing.assert_allclose(embedder.embed(TEXTS), reference, atol=1e-6)
