"""The verifier: does a set of premise sentences entail, contradict or say nothing about a claim?

A MiniLM-L6 cross-encoder fine-tuned by us (scripts/train_verifier.py, data recipe in scripts/verifier_data.py) reads
"[CLS] premise [SEP] claim [SEP]" for every premise sentence, and for two-sentence windows around the most
promising ones; the best support and the best contradiction decide. Cheap exact checks (numbers, names) sit on top.
Runs on onnxruntime + tokenizers + numpy only; the model ships in assistant/verifier_model/ (README there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError
from assistant.hashing import file_sha256
from assistant.records import Verdict

MODEL_DIR = Path(__file__).resolve().parent / "verifier_model"
MODEL_FILE = ("verifier-int8.onnx", "2cb0d337059d4ebd49785f5e6c1f5055eb09710fe3c867e0169631274c403e67")
TOKENIZER_FILE = ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037")
LABELS = ("supported", "contradicted", "not_enough_info")
SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO = LABELS
MAX_TOKENS = 128  # as in training: a claim and one or two abstract sentences; a longer premise is cut
BATCH = 16  # pairs per run, sorted by length so padding stays small
# Thresholds on the model's best P(supported) / P(contradicted), chosen on the 194 held-out SciFact train claim-
# abstract pairs (scripts/eval_verifier.py --calibrate): at 0.45 / 0.5 with windows and both checks, SUPPORT is
# accepted 0.577, CONTRADICT 0.163, NEI 0.162 (0.3: 0.592 / 0.143 / 0.243; 0.55: 0.507 / 0.163 / 0.095).
SUPPORT_THRESHOLD = 0.45
CONTRADICT_THRESHOLD = 0.5
# Windows (sentence + neighbour) are tried around this many best single sentences when no single one decides:
# on held-out claims (first model) at 0.4 they raised SUPPORT accepted from 0.380 to 0.549 (NEI 0.135 -> 0.284).
WINDOW_SEEDS = 2
# P(supported) = sigmoid(A * logit(best support) + B), fitted (log loss) on the held-out SciFact train claims.
CALIBRATION = (0.796, -0.113)
# Exact checks: the model alone accepts changed numbers and swapped names (held-out perturbation pairs: 0.00 and
# 0.12 right), the checks flag them by construction. On held-out SciFact claims at 0.45 they cost support recall
# (0.676 -> 0.577 accepted) for less NEI (0.284 -> 0.162) and CONTRADICT (0.224 -> 0.163) accepted.
SIGNALS = ("number", "name")
_verified: set[Path] = set()


def _checked(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"verifier model file {path} is missing — restore it: git checkout -- {path.parent.name}")
    if path not in _verified:
        digest = file_sha256(path)
        if digest != sha256:
            raise ConfigError(f"{path} has sha256 {digest}, expected {sha256} — restore the shipped file "
                              f"(git checkout -- {path.name}) or retrain: see {path.parent / 'README.md'}")
        _verified.add(path)
    return path


# --- exact signals ------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)")
# Spelled-out numbers count as their digits ("eight datasets" = "8 datasets"); "one" is left out, it is mostly a
# pronoun ("one can ...").
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty".split()) if w != "_"}
_NUMBER_WORDS |= {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                  "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]")


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised (1,000 -> 1000, 0.50 -> 0.5); digits inside names (CD4, H1N1) are not numbers."""
    out = set()
    for m in _NUMBER.finditer(text):
        raw = m.group(1).replace(",", "")
        if raw.count(".") > 1:
            continue
        if "." in raw:
            raw = raw.rstrip("0").rstrip(".")
        out.add(raw.lstrip("0") or "0")
    out |= {_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text)}
    return out


def names(text: str) -> set[str]:
    """Method / model / gene names: tokens with two capitals or an inner capital (AdvCLIP, BERT, TNF-alpha)."""
    out = set()
    for tok in _NAME.findall(text):
        if sum(c.isupper() for c in tok) >= 2 or (any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok)):
            out.add(tok)
    return out


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def missing_detail(claim: str, premises: Sequence[str], signals: Sequence[str] = SIGNALS) -> str:
    """A reason when the claim states a number or a name that no premise contains, else ''."""
    joined = " ".join(premises)
    if "number" in signals:
        have = numbers(joined)
        for n in sorted(numbers(claim)):
            if n not in have:
                return f"number {n} not in evidence"
    if "name" in signals:
        squashed = _squash(joined)
        for name in sorted(names(claim)):
            if _squash(name) not in squashed:
                return f"name {name} not in evidence"
    return ""


# --- the model ----------------------------------------------------------------------------------------------------


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def calibrated(p_support: float, calibration: tuple[float, float] = CALIBRATION) -> float:
    """Platt-scaled P(supported) from the model's best raw support probability."""
    p = min(max(p_support, 1e-6), 1 - 1e-6)
    a, b = calibration
    return 1.0 / (1.0 + math.exp(-(a * math.log(p / (1 - p)) + b)))


class Verifier:
    """Judges claims against premise sentences with the shipped cross-encoder."""

    def __init__(self, threads: int = 2, model_dir: Path | None = None, *,
                 support_threshold: float = SUPPORT_THRESHOLD, contradict_threshold: float = CONTRADICT_THRESHOLD,
                 windows: bool = True, signals: Sequence[str] = SIGNALS):
        import onnxruntime as ort
        import tokenizers

        folder = model_dir or MODEL_DIR
        model = _checked(folder / MODEL_FILE[0], MODEL_FILE[1])
        tok_path = _checked(folder / TOKENIZER_FILE[0], TOKENIZER_FILE[1])
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        tok = tokenizers.Tokenizer.from_file(str(tok_path))
        tok.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tok
        self.support_threshold = support_threshold
        self.contradict_threshold = contradict_threshold
        self.windows = windows
        self.signals = tuple(signals)

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """(n, 3) probabilities of supported / contradicted / not_enough_info for (premise, claim) pairs."""
        out = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
        if not pairs:
            return out
        enc = self._tokenizer.encode_batch([(p, c) for p, c in pairs])
        lengths = [sum(e.attention_mask) for e in enc]
        order = sorted(range(len(pairs)), key=lambda i: lengths[i])
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            width = max(lengths[i] for i in idx)
            feed = {name: np.array([getattr(enc[i], attr)[:width] for i in idx], dtype=np.int64)
                    for name, attr in (("input_ids", "ids"), ("attention_mask", "attention_mask"),
                                       ("token_type_ids", "type_ids"))}
            out[idx] = _softmax(self._session.run(None, feed)[0])
        return out

    def judge(self, claim: str, premises: Sequence[str]) -> Verdict:
        """Judge one claim against its premise sentences."""
        return self.judge_many([(claim, premises)])[0]

    def judge_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[Verdict]:
        """Judge several (claim, premises) items in shared batches."""
        cleaned = [(claim.strip(), list(dict.fromkeys(p.strip() for p in premises if p and p.strip())))
                   for claim, premises in items]
        # Pass 1: the claim against every single premise sentence.
        units: list[list[tuple[str, ...]]] = [[(p,) for p in prem] for _, prem in cleaned]
        pairs = [(" ".join(u), claim) for (claim, _), us in zip(cleaned, units, strict=True) for u in us]
        probs = self.probabilities(pairs)
        per_item: list[np.ndarray] = []
        at = 0
        for us in units:
            per_item.append(probs[at:at + len(us)])
            at += len(us)
        # Pass 2: two-sentence windows around the best sentences, for claims no single sentence decides.
        if self.windows:
            extra: list[tuple[int, tuple[str, ...]]] = []
            for k, ((_, prem), p) in enumerate(zip(cleaned, per_item, strict=True)):
                if len(prem) < 2 or p[:, 0].max() >= self.support_threshold:
                    continue
                seeds = np.argsort(-p[:, 0])[:WINDOW_SEEDS]
                wins = {(a, a + 1) for i in seeds for a in (int(i) - 1, int(i)) if 0 <= a and a + 1 < len(prem)}
                extra += [(k, (prem[a], prem[b])) for a, b in sorted(wins)]
            if extra:
                wprobs = self.probabilities([(" ".join(u), cleaned[k][0]) for k, u in extra])
                for (k, u), row in zip(extra, wprobs, strict=True):
                    units[k].append(u)
                    per_item[k] = np.vstack([per_item[k], row[None, :]])
        return [self._decide(claim, prem, us, p)
                for (claim, prem), us, p in zip(cleaned, units, per_item, strict=True)]

    def _decide(self, claim: str, premises: list[str], units: list[tuple[str, ...]], p: np.ndarray) -> Verdict:
        if not claim or not premises:
            return Verdict(NOT_ENOUGH_INFO, 0.0, (), "no premises" if claim else "empty claim")
        i_sup, i_con = int(np.argmax(p[:, 0])), int(np.argmax(p[:, 1]))
        sup, con = float(p[i_sup, 0]), float(p[i_con, 1])
        score = calibrated(sup)
        if con >= self.contradict_threshold and con > sup:
            return Verdict(CONTRADICTED, score, units[i_con], f"contradicted by evidence (p={con:.2f})")
        if sup >= self.support_threshold:
            why = missing_detail(claim, premises, self.signals)
            if why:
                return Verdict(NOT_ENOUGH_INFO, min(score, 0.5 * self.support_threshold), units[i_sup], why)
            return Verdict(SUPPORTED, score, units[i_sup], f"entailed by evidence (p={sup:.2f})")
        return Verdict(NOT_ENOUGH_INFO, score, units[i_sup], f"no premise entails it (best p={sup:.2f})")
