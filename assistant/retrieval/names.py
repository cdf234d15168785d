"""Paper names in a question: short names, acronyms and repository names found in the store, typo-tolerant."""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass

from assistant.records import Source, StoredPaper

TITLE_MATCH = 0.8  # difflib ratio a quoted title needs against a stored title
MAX_NGRAM = 4  # question tokens joined to find a multi-word short name ("label agnostic forgetting", "laion 5b")
FUZZY_MIN = 7  # names shorter than this must be typed exactly (at 5, "tired" matched TIReID on the train split)
COMMON_DF = 3  # a name-like token mentioned in this many papers without owning one is a common term (CLIP, SSL)
# How strongly a paper owns a name: its whole short name, its title's leading name or a repository it links,
# a name it introduces ("we present Hydra", "(UMCT)"), a name it repeats, a single mention.
OWN_SHORT, OWN_INTRODUCED, OWN_REPEATED, OWN_MENTION = 3.0, 2.0, 1.5, 1.0
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_NAMEISH = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]")
_INTRO_SPAN = re.compile(r"\b(?:propose|present|introduce|call|dub|name|term|coin|develop)\w*\b([^.;]{0,60})"
                         r"|\(([^()]{1,30})\)")
_GENERIC_TITLE = frozenset("the a an dataset database benchmark paper".split())
_NAME_SIGNAL = re.compile(r"\d|[A-Z]{2}|[a-z][A-Z]")  # inside one hyphen-separated part, as "-" breaks adjacency
_REPO = re.compile(r"github\.com/[\w.-]+/([\w.-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """A paper named in a question: where, by which key, and whether it was typed exactly."""

    pid: str
    start: int
    end: int
    key: str
    exact: bool
    strength: float = OWN_SHORT  # how strongly the paper owns the name (OWN_SHORT ... OWN_MENTION); a title: OWN_SHORT


def norm(text: str) -> str:
    """A name's key: lower-case letters and digits only ("LAION-5B" -> "laion5b")."""
    return "".join(_TOKEN.findall(text)).lower()


def name_like(token: str) -> bool:
    """A method or dataset name: a digit, two capitals in a row, or a capital after a lower-case letter."""
    return _NAME_SIGNAL.search(token) is not None and any(c.isalpha() for c in token)


class NameIndex:
    """Name key -> the paper that owns it, built from the store's papers (titles, abstracts, code links)."""

    def __init__(self, papers: Mapping[str, StoredPaper], state: dict | None = None):
        self._papers = papers
        if state is None:
            state = self.build_state(papers)
        self.vocabulary: set[str] = set(state["vocabulary"])  # every word of the corpus, lower-cased
        self.lower_words: set[str] = set(state["lower_words"])  # words the corpus writes in lower case
        self.owner: dict[str, str] = dict(state["owner"])
        self.strength: dict[str, float] = dict(state["strength"])
        self.users: dict[str, int] = dict(state["users"])
        self._spelling = _Speller(Counter(state["counts"]))

    @staticmethod
    def build_state(papers: Mapping[str, StoredPaper]) -> dict:
        """What the index keeps, computed from every paper (JSON-able, so it can be saved beside the store)."""
        return merge_parts([(contribution(papers.values()), None)])

    def find(self, question: str, whole: Callable[[int, int], bool] = lambda s, e: False) -> list[Mention]:
        """Papers the question names, in the order named; `whole(start, end)` says a span is a whole side."""
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(question)]
        found: list[Mention] = []
        taken: set[int] = set()
        for n in range(MAX_NGRAM, 0, -1):  # longest names first: "LAION-5B" before "5B"
            for i in range(len(tokens) - n + 1):
                span = tokens[i:i + n]
                if taken & set(range(i, i + n)):
                    continue
                start, end = span[0][0], span[-1][1]
                if n > 1 and not re.fullmatch(r"[\w\s\-]+", question[start:end]):
                    continue  # a name does not run across punctuation
                m = self._match(question[start:end], "".join(t for _, _, t in span), n, whole(start, end))
                if m:
                    found.append(Mention(m[0], start, end, m[1], m[2], self.strength.get(m[1], OWN_SHORT)))
                    taken |= set(range(i, i + n))
        found.sort(key=lambda m: m.start)
        out, seen = [], set()
        for m in found:
            if m.pid not in seen:
                seen.add(m.pid)
                out.append(m)
        return out

    def _match(self, typed: str, joined: str, n: int, whole: bool) -> tuple[str, str, bool] | None:
        key = joined.lower()
        if key in self.owner:
            if key in self.lower_words and not whole and not name_like(typed):
                return None  # "pass", "Pose", "structure" not typed as a name are words, not names
            return self.owner[key], key, True
        if len(key) < FUZZY_MIN - 1 or (n == 1 and key in self.vocabulary) or any(c.isdigit() for c in key):
            return None  # a real word of the corpus, or a short or numbered token: no typo guess
        close = sorted(k for k in _edits1(key) if k in self.owner and len(k) >= FUZZY_MIN)
        if len(close) == 1 or (close and len({self.owner[k] for k in close}) == 1):
            return self.owner[close[0]], close[0], False
        return None

    def respell(self, question: str, known: frozenset[str] = frozenset()) -> str:
        """The question with misspelt words (not in the corpus, one edit from a corpus word or from `known`, the
        words the caller's own wording cues look for) corrected."""
        return self._spelling.correct(question, self, known)

    def resolve(self, question: str, search: Callable[[str], list[Source]] | None = None) -> list[str]:
        """Paper ids the question names (quoted titles and names), in the order named."""
        found = [(m.start, m.pid) for m in self.find(question)]
        if search is not None:
            for q in re.finditer(r"['‘\"“]([^'’\"”]{12,})['’\"”]", question):
                best = match_title(q.group(1), search(q.group(1)))
                if best:
                    found.append((q.start(), best))
        return list(dict.fromkeys(pid for _, pid in sorted(found)))


class _Speller:
    """One-edit spelling correction against the corpus's words (distance 1, candidates generated per word)."""

    MIN_LEN = 5  # shorter words have too many one-edit neighbours to guess from
    MIN_COUNT = 2  # a correction must be a word the corpus uses at least twice

    def __init__(self, counts: Counter[str]):
        self.counts = counts

    def _known(self, word: str) -> bool:
        return self.counts.get(word, 0) >= self.MIN_COUNT and len(word) >= self.MIN_LEN and word.isalpha()

    def correct(self, text: str, names: NameIndex, known: frozenset[str] = frozenset()) -> str:
        def fix(m: re.Match) -> str:
            word = m.group()
            low = word.lower()
            if len(low) < self.MIN_LEN or low in names.vocabulary or low.rstrip("s") in names.vocabulary \
                    or low in known or not low.isalpha() or names._match(word, word, 1, True):
                return word
            cands = [w for w in _edits1(low) if w in known or self._known(w)]
            return max(cands, key=lambda w: (w in known, self.counts[w], w)) if cands else word
        return re.sub(r"[A-Za-z]+", fix, text)


def _owned(p: StoredPaper, lower_words: set[str]) -> dict[str, float]:
    """The name keys a paper may own, each with how strongly (a key has >= 3 characters, >= 2 of them letters)."""
    out: dict[str, float] = {}
    short = p.short_name
    if short and len(_TOKEN.findall(short)) <= MAX_NGRAM:
        out[norm(short)] = OWN_SHORT
    bare = norm(" ".join(w for w in _TOKEN.findall(short) if w.lower() not in _GENERIC_TITLE))
    if bare and len(_TOKEN.findall(short)) <= MAX_NGRAM + 2:
        out.setdefault(bare, OWN_SHORT)  # "The Open Images Dataset V4" is typed "Open Images V4"
    first = short.split()[0] if short else ""
    if first and name_like(first):
        out.setdefault(norm(first), OWN_SHORT)  # "UHD-IQA Benchmark Database" is UHD-IQA
    for repo in _REPO.findall(p.abstract):
        repo = repo.rstrip(".}")
        if len(norm(repo)) >= 3:
            out.setdefault(norm(repo), OWN_INTRODUCED)  # the code link names the method: .../DeepMed-Lab/BCP
    counts = Counter(t for t in _NAMEISH.findall(p.abstract) if not t.islower() and name_like(t))
    tokens = set(counts) | {t for t in _NAMEISH.findall(p.title) if name_like(t)}
    # A capitalised word inside a sentence is a name only when introduced ("we present Hydra", "approach, Loki").
    words = {w for w in re.findall(r"(?<=[a-z,] )[A-Z][a-z]{2,}\b(?! [A-Z])", p.abstract)
             if w.lower() not in lower_words} - tokens
    introduced = set()  # one pass over the abstract: tokens right after "propose/present/..." or in parentheses
    for m in _INTRO_SPAN.finditer(p.abstract):
        introduced |= set(_NAMEISH.findall(m.group(1) if m.group(1) is not None else m.group(2)))
    for token in sorted(tokens | words):
        key = norm(token)
        if key in out:
            continue
        if token in introduced:
            out[key] = OWN_INTRODUCED
        elif token in words:
            continue
        elif counts[token] >= 2:
            out[key] = OWN_REPEATED
        else:
            out[key] = OWN_MENTION
    return out


def contribution(papers: Iterable[StoredPaper]) -> dict:
    """One batch of papers' share of the name index (JSON-able): their words, lower-case word counts and the name
    keys each paper may own with how strongly. The lexical index saves one per segment, so a new segment's papers
    are the only ones read when papers are added; `merge_parts` combines them."""
    vocabulary: set[str] = set()
    counts: Counter[str] = Counter()
    owned = []
    for p in papers:
        tokens = _TOKEN.findall(f"{p.title} {p.abstract}")
        vocabulary.update(map(str.lower, tokens))
        counts.update(t for t in tokens if t.islower())  # corrections go to lower-case words, not to names
        owned.append(p)
    lower_words = set(counts)
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for p in owned:
        for key, score in _owned(p, lower_words).items():
            scores[key][p.id] = max(score, scores[key].get(p.id, 0.0))
    return {"vocabulary": sorted(vocabulary), "counts": dict(counts), "scores": scores}


def merge_parts(parts: Iterable[tuple[dict, Container[str] | None]]) -> dict:
    """The index state from (contribution, its live papers) pairs: only live papers own names (a removed or changed
    paper's old words and counts stay until its segment is rebuilt: they only steer spelling)."""
    vocabulary: set[str] = set()
    counts: Counter[str] = Counter()
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for part, live in parts:
        vocabulary.update(part["vocabulary"])
        counts.update(part["counts"])
        for key, by_paper in part["scores"].items():
            for pid, score in by_paper.items():
                if live is None or pid in live:
                    scores[key][pid] = score
    owner: dict[str, str] = {}
    strength: dict[str, float] = {}
    users: dict[str, int] = {}  # papers that use the name (own it at any strength)
    for key, by_paper in scores.items():
        if len(key) < 3 or sum(c.isalpha() for c in key) < 2 or not by_paper:
            continue  # "3D", "4K", "IT": too short to name one paper
        ranked = sorted(by_paper.items(), key=lambda kv: -kv[1])
        best = ranked[0][1]
        if len(ranked) > 1 and ranked[1][1] == best and best < OWN_SHORT:
            continue  # two papers use it alike: a shared term, not one paper's name
        if best < OWN_SHORT and len(ranked) >= COMMON_DF:
            continue  # mentioned by several papers: a shared term unless it is one paper's whole short name
        owner[key], strength[key] = ranked[0]
        users[key] = len(ranked)
    return {"vocabulary": sorted(vocabulary), "lower_words": sorted(counts), "owner": owner, "strength": strength,
            "users": users, "counts": dict(counts)}


_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _edits1(word: str) -> set[str]:
    """Every string one edit from `word` (delete, adjacent swap, replace, insert): its OSA distance-1 ball, so a
    lookup needs no precomputed neighbourhood (SymSpell's deletions cost ~8 s and much memory at 100k papers)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b} | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _ALPHABET} | {a + c + b for a, b in splits for c in _ALPHABET})


def match_title(text: str, candidates: list[Source]) -> str | None:
    """The candidate whose title a quoted text is (a quoted title is among the top hits for itself)."""
    key = text.lower().strip(" .")
    best, best_r = None, 0.0
    for src in candidates:
        r = difflib.SequenceMatcher(None, key, src.title.lower()).ratio()
        if r > best_r:
            best, best_r = src.id, r
    return best if best_r >= TITLE_MATCH else None
