"""Training data for the verifier: SciFact train claims plus FactCC-style perturbations of SciFact abstracts.

Usage: PYTHONPATH=$PWD python scripts/verifier_data.py [--out ../verifier-data]

Deterministic (seeded). Reads ../shared/eval/external/scifact/original/{claims_train,claims_dev,corpus}.jsonl; uses
train claims only. Claims with id % 5 == 0 are held out (their pairs go to heldout.jsonl, never to train.jsonl) so
thresholds can be calibrated on train data the model has not seen; dev claims are for reporting only, and the
abstracts dev claims cite are never perturbed. Writes train.jsonl / heldout.jsonl with lines
{"claim", "premise", "label", "kind"}; label is supported | contradicted | not_enough_info.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "eval" / "external" / "scifact" / "original"
S, C, N = "supported", "contradicted", "not_enough_info"
HOLDOUT_MOD = 5  # 1 in 5 train claims (and perturbed abstracts) held out for calibration


def from_claim(row: dict) -> bool:
    """A pair built from a labelled SciFact claim (kinds scifact_* / claim_*), not a perturbation of an abstract."""
    return row["kind"].startswith(("scifact", "claim_"))


def heldout_claim(claim_id: int) -> bool:
    """Train claims kept out of training, used to calibrate thresholds."""
    return claim_id % HOLDOUT_MOD == 0


def load(root: Path = SCIFACT) -> tuple[dict[int, dict], list[dict], list[dict]]:
    """(corpus by doc id, train claims, dev claims)."""
    corpus = {}
    for line in (root / "corpus.jsonl").read_text().splitlines():
        d = json.loads(line)
        corpus[int(d["doc_id"])] = d
    read = lambda name: [json.loads(x) for x in (root / name).read_text().splitlines() if x.strip()]  # noqa: E731
    return corpus, read("claims_train.jsonl"), read("claims_dev.jsonl")


def _window(sents: list[str], i: int, j: int) -> str:
    return " ".join(sents[i:j + 1])


_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset("a an the of and or in on for to with by from as at is are was were be been this that these "
                       "those it its we our which than not no".split())


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2}


def _overlap(a: str, b: str) -> float:
    wa = _content(a)
    return len(wa & _content(b)) / max(1, len(wa))


# --- perturbations (each returns the new text, or None when the rule does not apply) ------------------------------

_AUX = r"(is|are|was|were|can|could|may|might|will|would|should|has|have|had|does|do|did)"
_ANTONYMS = [
    ("increase", "decrease"), ("increases", "decreases"), ("increased", "decreased"), ("increasing", "decreasing"),
    ("higher", "lower"), ("more", "fewer"), ("greater", "smaller"), ("larger", "smaller"), ("improves", "worsens"),
    ("improved", "worsened"), ("improve", "worsen"), ("outperforms", "underperforms"), ("outperform", "underperform"),
    ("outperformed", "underperformed"), ("positive", "negative"), ("positively", "negatively"),
    ("upregulated", "downregulated"), ("up-regulated", "down-regulated"), ("upregulation", "downregulation"),
    ("activates", "inhibits"), ("activated", "inhibited"), ("activation", "inhibition"), ("promotes", "suppresses"),
    ("promoted", "suppressed"), ("enhances", "reduces"), ("enhanced", "reduced"), ("gain", "loss"),
    ("better", "worse"), ("faster", "slower"), ("longer", "shorter"), ("stronger", "weaker"), ("superior", "inferior"),
    ("elevated", "reduced"), ("accelerates", "delays"), ("accelerated", "delayed"), ("susceptible", "resistant"),
    ("effective", "ineffective"), ("efficient", "inefficient"), ("consistent", "inconsistent"), ("high", "low"),
    ("benefit", "harm"), ("rise", "fall"), ("maximum", "minimum"), ("stimulates", "inhibits"), ("induces", "prevents"),
    ("induced", "prevented"), ("reduction", "increase"), ("lowers", "raises"), ("lowered", "raised"),
    ("sufficient", "insufficient"), ("required", "dispensable"), ("essential", "dispensable"), ("stable", "unstable"),
    ("robust", "fragile"), ("accurate", "inaccurate"), ("successful", "unsuccessful"), ("present", "absent"),
]
_ANTONYM = {}
for _a, _b in _ANTONYMS:
    _ANTONYM.setdefault(_a, _b)
    _ANTONYM.setdefault(_b, _a)
_ANTONYM_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _ANTONYM), key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)
_VERBS = {  # inflected verb -> (auxiliary, base) for negation insertion when the sentence has no auxiliary
    "increases": ("does", "increase"), "increased": ("did", "increase"), "reduces": ("does", "reduce"),
    "reduced": ("did", "reduce"), "improves": ("does", "improve"), "improved": ("did", "improve"),
    "shows": ("does", "show"), "showed": ("did", "show"), "affects": ("does", "affect"), "affected": ("did", "affect"),
    "causes": ("does", "cause"), "caused": ("did", "cause"), "requires": ("does", "require"),
    "required": ("did", "require"), "induces": ("does", "induce"), "induced": ("did", "induce"),
    "inhibits": ("does", "inhibit"), "inhibited": ("did", "inhibit"), "prevents": ("does", "prevent"),
    "prevented": ("did", "prevent"), "predicts": ("does", "predict"), "predicted": ("did", "predict"),
    "achieves": ("does", "achieve"), "achieved": ("did", "achieve"), "outperforms": ("does", "outperform"),
    "outperformed": ("did", "outperform"), "enables": ("does", "enable"), "enabled": ("did", "enable"),
    "contains": ("does", "contain"), "contained": ("did", "contain"), "leads": ("does", "lead"),
    "led": ("did", "lead"), "results": ("does", "result"), "resulted": ("did", "result"),
    "correlates": ("does", "correlate"), "correlated": ("did", "correlate"), "depends": ("does", "depend"),
    "found": ("did", "find"), "observed": ("did", "observe"), "demonstrated": ("did", "demonstrate"),
    "demonstrates": ("does", "demonstrate"), "exhibits": ("does", "exhibit"), "exhibited": ("did", "exhibit"),
    "promotes": ("does", "promote"), "promoted": ("did", "promote"), "suppresses": ("does", "suppress"),
    "suppressed": ("did", "suppress"), "enhances": ("does", "enhance"), "enhanced": ("did", "enhance"),
    "provides": ("does", "provide"), "provided": ("did", "provide"), "yields": ("does", "yield"),
    "yielded": ("did", "yield"), "supports": ("does", "support"), "supported": ("did", "support"),
}
_VERB_RE = re.compile(r"\b(" + "|".join(_VERBS) + r")\b")


def negate(s: str, rng: random.Random) -> str | None:
    """Insert or remove a negation."""
    removals = [
        (rf"\b{_AUX} not\b", r"\1"), (r"\bcannot\b", "can"), (r"\b(\w+)n't\b", r"\1"), (r"\bno significant\b",
         "a significant"), (r"\bnot\b ", ""), (r"\bwithout\b", "with"), (r"\bfailed to\b", "managed to"),
        (r"\bunaffected\b", "affected"), (r"\bnon-significant\b", "significant"), (r"\binsignificant\b", "significant"),
    ]
    for pat, rep in removals:
        if re.search(pat, s):
            return re.sub(pat, rep, s, count=1)
    m = re.search(rf"\b{_AUX}\b", s)
    if m and rng.random() < 0.8:
        return s[:m.end()] + " not" + s[m.end():]
    m = _VERB_RE.search(s)
    if m:
        aux, base = _VERBS[m.group(1)]
        return s[:m.start()] + f"{aux} not {base}" + s[m.end():]
    m = re.search(rf"\b{_AUX}\b", s)
    if m:
        return s[:m.end()] + " not" + s[m.end():]
    return None


def antonym(s: str, rng: random.Random) -> str | None:
    """Swap one direction word for its opposite (increase/decrease, outperforms/underperforms, ...)."""
    hits = list(_ANTONYM_RE.finditer(s))
    if not hits:
        return None
    m = rng.choice(hits)
    word = m.group(1)
    rep = _ANTONYM[word.lower()]
    if word[0].isupper():
        rep = rep[0].upper() + rep[1:]
    return s[:m.start()] + rep + s[m.end():]


_NUMBER = re.compile(r"(?<![\w.\-/])(\d+(?:[.,]\d+)?)(?![\w\-]*[A-Za-z]{2})(?=\s*(?:%|[^\w]|$|[a-z]{0,3}\b))")


def change_number(s: str, rng: random.Random) -> str | None:
    """Change one number (not part of a name like CD4 or H1N1) to a different, plausible one."""
    hits = [m for m in _NUMBER.finditer(s) if not re.match(r"(19|20)\d\d$", m.group(1))]
    if not hits:
        return None
    m = rng.choice(hits)
    text = m.group(1).replace(",", "")
    value = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    for _ in range(10):
        new = value * rng.choice([0.5, 0.7, 1.3, 1.5, 2, 3, 10]) if value else rng.choice([1, 2, 5])
        new = round(new + rng.choice([-1, 1]) * (10 ** -decimals) * rng.randint(0, 3), decimals)
        if new >= 0 and new != value:
            break
    else:
        return None
    rep = f"{new:.{decimals}f}" if decimals else str(int(new))
    return s[:m.start()] + rep + s[m.end():]


_NAME = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]\b")


_HEADERS = frozenset("UNLABELLED BACKGROUND OBJECTIVE OBJECTIVES METHODS METHOD RESULTS RESULT CONCLUSION CONCLUSIONS "
                     "INTRODUCTION PURPOSE DESIGN SETTING PARTICIPANTS INTERPRETATION FINDINGS CONTEXT AIMS AIM "
                     "MEASUREMENTS INTERVENTIONS IMPORTANCE SIGNIFICANCE RATIONALE".split())


def names(text: str) -> list[str]:
    """Acronyms / method / gene names: tokens with two capitals or inner capitals (TNF-alpha, SwAV, BRCA1)."""
    out = []
    for tok in _NAME.findall(text):
        if tok.upper() in _HEADERS:
            continue
        if sum(c.isupper() for c in tok) >= 2 or (any(c.isupper() for c in tok[1:]) and any(c.islower() for c in tok)):
            out.append(tok)
    return out


def swap_name(s: str, pool: list[str], rng: random.Random) -> str | None:
    """Replace one name in the sentence with a name from another abstract."""
    own = names(s)
    if not own:
        return None
    old = rng.choice(own)
    choices = [p for p in pool if p.lower() != old.lower() and p not in s]
    if not choices:
        return None
    return re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", rng.choice(choices), s)


_LEADS = re.compile(r"^(However|Moreover|Furthermore|In addition|Additionally|Finally|Thus|Therefore|Overall|"
                    r"Importantly|Notably|Consequently|In conclusion|Conclusions?|Results|Background|Methods|"
                    r"Together|Collectively|Taken together|In summary)\s*[,:]\s*", re.IGNORECASE)
_REPORT = re.compile(r"^(?:(?:We|Our (?:results|data|findings|study|analysis)|These (?:results|data|findings)|"
                     r"This (?:study|analysis))\s+(?:also\s+)?(?:show|showed|shows|found|find|demonstrate|"
                     r"demonstrated|demonstrates|suggest|suggests|suggested|indicate|indicates|indicated|report|"
                     r"reveal|revealed|reveals|observed|confirm|confirmed|establish)\s+that\s+)", re.IGNORECASE)


def paraphrase(s: str, rng: random.Random) -> str | None:
    """A lighter sentence that the original entails: lead words, 'we found that', parentheses or a clause dropped."""
    out = _LEADS.sub("", s)
    out = _REPORT.sub("", out)
    if rng.random() < 0.7:
        out = re.sub(r"\s*\((?:[^()]{1,60})\)", "", out)
    if rng.random() < 0.5:
        parts = re.split(r",\s+(?:and\s+|which\s+|while\s+|whereas\s+|with\s+)", out)
        if len(parts) > 1 and len(parts[0].split()) >= 6:
            out = parts[0].rstrip(",;") + "."
    if rng.random() < 0.4:
        m = re.match(r"^(In|At|After|During|Among|For|Using|With|By|Compared with|Compared to) ([^,]{3,60}), (.+)$",
                     out)
        if m:  # move the opening phrase to the end
            rest = m.group(3).rstrip(".")
            out = rest[0].upper() + rest[1:] + f" {m.group(1).lower()} {m.group(2)}."
    out = out.strip()
    if out and out[0].islower():
        out = out[0].upper() + out[1:]
    return out if out and out != s else None


_WE = re.compile(r"^(?:(?:Here|Herein|Here,|In this (?:paper|study|work|article|report)|In the present study|"
                 r"In this work)\s*,?\s*)?we\s+(?:(also|further|first|then|now)\s+)?([a-z]+)\b(.*)$", re.IGNORECASE)
_THIS = re.compile(r"^(?:This|The present|Our) (?:paper|study|work|article|report|review|method|approach|model)\s+"
                   r"(.*)$")


def _third_person(verb: str) -> str:
    irregular = {"have": "has", "are": "are", "were": "were", "did": "did", "do": "does", "can": "can",
                 "found": "found", "made": "made", "took": "took", "led": "led", "gave": "gave", "saw": "saw",
                 "built": "built", "sought": "sought", "chose": "chose", "began": "began", "thus": "thus",
                 "will": "will", "may": "may", "could": "could", "should": "should", "might": "might",
                 "would": "would", "must": "must", "need": "needs", "identified": "identified"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith("ed") or verb.endswith("s"):
        return verb
    if verb.endswith(("sh", "ch", "x", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def name_rewrite(s: str, name: str) -> str | None:
    """'We propose X ...' / 'This paper presents X' -> '<name> proposes X ...' (how answers paraphrase abstracts)."""
    m = _WE.match(s)
    if m:
        adverb, verb, rest = m.group(1), m.group(2).lower(), m.group(3)
        if verb in {"were", "are"}:
            return None
        verb = _third_person(verb)
        rest = re.sub(r"\bour\b", "its", rest)
        return f"{name} {adverb + ' ' if adverb else ''}{verb}{rest}"
    m = _THIS.match(s)
    if m:
        return f"{name} {m.group(1)}"
    return None


def paper_name(doc: dict, rng: random.Random) -> str:
    """What an answer would call the paper: its title's short head, a name it introduces, or 'The authors'."""
    head = doc["title"].split(":")[0].strip()
    if ":" in doc["title"] and 2 <= len(head) <= 25:
        return head
    found = [n for n in names(" ".join(doc["abstract"])) if len(n) >= 3]
    if found and rng.random() < 0.6:
        return Counter(found).most_common(1)[0][0]
    return rng.choice(["The authors", "The study", "This study", "The paper", "This work", "The researchers"])


# --- pair builders --------------------------------------------------------------------------------------------------


def claim_pairs(claims: list[dict], corpus: dict[int, dict], rng: random.Random) -> list[dict]:
    """SciFact claims vs their cited abstracts: rationales and windows holding them (S/C), all else NEI."""
    out = []
    doc_ids = sorted(corpus)
    for cl in claims:
        claim = cl["claim"]
        for doc_id in cl["cited_doc_ids"]:
            doc = corpus.get(int(doc_id))
            if doc is None:
                continue
            sents = doc["abstract"]
            sets = cl["evidence"].get(str(doc_id), [])
            rationale = {i for es in sets for i in es["sentences"]}
            for es in sets:
                label = S if es["label"] == "SUPPORT" else C
                idx = sorted(es["sentences"])
                out.append({"claim": claim, "premise": " ".join(sents[i] for i in idx), "label": label,
                            "kind": "scifact_rationale"})
                if len(idx) == 1:
                    i = idx[0]
                    for a, b in ((i - 1, i), (i, i + 1)):
                        if 0 <= a and b < len(sents):
                            out.append({"claim": claim, "premise": _window(sents, a, b), "label": label,
                                        "kind": "scifact_window"})
                elif len(idx) == 2 and idx[1] == idx[0] + 1:
                    pass  # already the joined window
                if label == S:  # the negated or number-changed claim is contradicted by the same evidence
                    for kind, fn in (("claim_negation", negate), ("claim_antonym", antonym),
                                     ("claim_number", change_number)):
                        new = fn(claim, rng)
                        if new and new != claim:
                            out.append({"claim": new, "premise": " ".join(sents[i] for i in idx), "label": C,
                                        "kind": kind})
            # Sentences (and windows) with no rationale in them: not enough info. Hard ones first (most overlap).
            others = [i for i in range(len(sents)) if i not in rationale]
            others.sort(key=lambda i: -_overlap(claim, sents[i]))
            take = 6 if not sets else 4
            for i in others[:take]:
                out.append({"claim": claim, "premise": sents[i], "label": N,
                            "kind": "scifact_nei_doc" if not sets else "scifact_non_rationale"})
            wins = [(i, i + 1) for i in range(len(sents) - 1) if i not in rationale and i + 1 not in rationale]
            wins.sort(key=lambda w: -_overlap(claim, _window(sents, *w)))
            for a, b in wins[:2]:
                out.append({"claim": claim, "premise": _window(sents, a, b), "label": N,
                            "kind": "scifact_nei_window"})
            # A sentence from an unrelated abstract.
            other = corpus[rng.choice(doc_ids)]
            if other["doc_id"] != doc["doc_id"] and other["abstract"]:
                out.append({"claim": claim, "premise": rng.choice(other["abstract"]), "label": N,
                            "kind": "scifact_other_doc"})
    return out


def perturbation_pairs(docs: list[dict], rng: random.Random, per_doc: int) -> list[dict]:
    """FactCC-style pairs from abstract sentences: identity / paraphrase / name rewrite supported, negation / antonym /
    number contradicted, name swap / another abstract's sentence / another sentence of the abstract not enough info."""
    pool = sorted({n for d in docs for n in names(" ".join(d["abstract"])) if len(n) >= 3})
    out = []
    for doc in docs:
        sents = [s for s in doc["abstract"] if 6 <= len(s.split()) <= 60]
        if len(sents) < 3:
            continue
        all_sents = doc["abstract"]
        for s in rng.sample(sents, min(per_doc, len(sents))):
            i = all_sents.index(s)
            window = None
            if len(all_sents) > 1:
                a = i - 1 if (i > 0 and (rng.random() < 0.5 or i == len(all_sents) - 1)) else i
                window = _window(all_sents, a, a + 1)

            def premise(window: str | None = window, s: str = s) -> str:
                return window if window and rng.random() < 0.4 else s

            out.append({"claim": s, "premise": premise(), "label": S, "kind": "identity"})
            p = paraphrase(s, rng)
            if p:
                out.append({"claim": p, "premise": premise(), "label": S, "kind": "paraphrase"})
            r = name_rewrite(s, paper_name(doc, rng))
            if r:
                out.append({"claim": r, "premise": premise(), "label": S, "kind": "name_rewrite"})
            base = p if p and rng.random() < 0.3 else s  # perturb paraphrases too, so wording alone does not decide
            for kind, fn in (("negation", negate), ("antonym", antonym), ("number", change_number)):
                new = fn(base, rng)
                if new and new != base:
                    out.append({"claim": new, "premise": premise(), "label": C, "kind": kind})
            new = swap_name(base, pool, rng)
            if new and new != base:
                out.append({"claim": new, "premise": premise(), "label": N, "kind": "name_swap"})
            j = rng.choice([k for k in range(len(all_sents)) if abs(k - i) > 1] or [i])
            if j != i:
                out.append({"claim": s, "premise": all_sents[j], "label": N, "kind": "same_doc_other"})
            other = rng.choice(docs)
            if other is not doc:
                out.append({"claim": s, "premise": rng.choice(other["abstract"]), "label": N, "kind": "other_doc"})
    return out


def build(root: Path = SCIFACT, seed: int = 13, per_doc: int = 2, perturb_docs: int = 2500
          ) -> tuple[list[dict], list[dict]]:
    """(train pairs, held-out pairs)."""
    rng = random.Random(seed)
    corpus, train, dev = load(root)
    fit = [c for c in train if not heldout_claim(c["id"])]
    held = [c for c in train if heldout_claim(c["id"])]
    train_pairs = claim_pairs(fit, corpus, rng)
    held_pairs = claim_pairs(held, corpus, rng)
    # Abstracts cited by dev claims are never perturbed, so dev stays unseen; 1 in 5 of the rest is held out.
    banned = {int(d) for c in dev for d in c["cited_doc_ids"]}
    docs = [corpus[k] for k in sorted(corpus) if k not in banned]
    rng.shuffle(docs)
    docs = docs[:perturb_docs]
    fit_docs = [d for d in docs if int(d["doc_id"]) % HOLDOUT_MOD != 0]
    held_docs = [d for d in docs if int(d["doc_id"]) % HOLDOUT_MOD == 0]
    train_pairs += perturbation_pairs(fit_docs, rng, per_doc)
    held_pairs += perturbation_pairs(held_docs, rng, per_doc)
    rng.shuffle(train_pairs)
    return train_pairs, held_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT.parent / "verifier-data", help="output folder")
    parser.add_argument("--scifact", type=Path, default=SCIFACT)
    parser.add_argument("--per-doc", type=int, default=2, help="perturbed sentences per abstract")
    parser.add_argument("--docs", type=int, default=2500, help="abstracts to perturb")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    train, held = build(args.scifact, args.seed, args.per_doc, args.docs)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("heldout.jsonl", held)):
        with open(args.out / name, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        counts = Counter((r["kind"], r["label"]) for r in rows)
        print(f"{name}: {len(rows)} pairs; " + ", ".join(f"{k}/{lab[:4]} {v}" for (k, lab), v in sorted(counts.items())))


if __name__ == "__main__":
    main()
