"""Understand a question: its kind, the papers it names, the sides of a comparison, a detail asked, follow-ups."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.kinds import DEFAULT_KIND
from assistant.records import Answer
from assistant.retrieval.hybrid import Library
from assistant.retrieval.names import Mention, match_title
from assistant.text import words

from .followup import resolve

# Each cue is a family of wordings, checked against the labelled train split (tests/data/questions_casual.jsonl).
_SUMMARY = re.compile(
    r"\bsummar|\boverview\b|\btl\s*;?\s*dr\b|\bgist\b|\beli5\b|\bnutshell\b|\bin short\b|\bbrief(?:ly)?\b|\brecap\b"
    r"|\bexplain\b|\bdescribe\b|\bwhat(?:'?s| is| was| are)\b.{0,60}\babout\b|\bwhat'?s the deal\b"
    r"|\b(?:main|key|core|central) (?:idea|contribution|point|takeaway|finding)s?\b|\bwhat (?:does|did) .{1,40} do\b"
    r"|\btell me (?:about|more)\b|\bhigh[- ]level\b", re.IGNORECASE)
_TOPIC = re.compile(
    r"\b(?:papers|works|studies|ones|articles)\b|\banything\b|\beverything\b|\bevery (?:paper|work|study|one)\b"
    r"|\ball (?:the )?(?:[\w-]+ ){0,4}(?:papers|methods|approaches|datasets|works)\b", re.IGNORECASE)
_COMPARE = re.compile(
    r"\bvs\.?(?=\s|$)|\bversus\b|\bcompar|\bdiffer(?!entia)|\bcontrast\b|\bsimilarit|\bbetter\b|\bbetween\b|\bboth\b"
    r"|\band\b[^,?]{0,80}\beach\b|\bchoos(?:e|ing) between\b", re.IGNORECASE)
# "between" that relates two things instead of contrasting them ("the interaction between TDP-43 and ND3",
# "between 1 and 10 mM"): on SciFact train these claims were routed as comparisons and lost 0.5 nDCG@10 each.
_RELATING = re.compile(r"\b(?:interact\w*|associat\w*|relationships?|relations?|links?|linkage|correlat\w*|"
                       r"communicat\w*|crosstalk|signal\w*|occurs?|range\w*|misunderstandings?)\s+between\b"
                       r"|\bbetween\s+\d", re.IGNORECASE)
_SINGLE_LOOKUP = re.compile(
    r"\b(?:which|what|the|a|an)\s+(?!(?:papers|works|studies|ones|articles|methods|approaches|datasets)\b)"
    r"(?:[\w-]+\s+){0,3}?(?:paper|one|method|approach|work|model|pipeline|framework|attack|variant|benchmark|dataset|"
    r"system|technique|study|algorithm|loss)\b(?!s)|^\s*(?:is there|how can)\b", re.IGNORECASE)
_ASKS_WHICH = re.compile(
    r"^\s*(?:which|what)\s+(?!(?:papers|works|studies|ones|articles|methods|approaches|datasets)\b)(?:[\w-]+\s+){0,3}?"
    r"(?:paper|one|method|approach|work|model|pipeline|framework|attack|variant|benchmark|dataset|system|technique|"
    r"study|algorithm|loss)\b(?!s)|^\s*(?:is there|how can)\b", re.IGNORECASE)
# The words the cues above look for, as typed: a typo of one ("anythng", "papres", "sumarize") is corrected to it
# before routing, as the corpus's own words are (the speller's vocabulary holds corpus words only).
CUE_WORDS = frozenset("""anything everything papers works studies articles methods approaches datasets summary
summarize summarise overview explain describe compare comparison compared versus difference differences differ
contrast similarities similarity between choose choosing""".split())
# Words that ask for papers rather than name a topic, from the train split's topic questions and common request
# phrasing; what is left of a topic question are its terms.
_REQUEST = set(words("""all the a an any papers paper pls please plz anything everything every on about got have has
you do here in give me list show find which what ones one works work studies study articles that this these those deal
deals handle handles touch touches it stuff things thing related relevant fit fits is are there of for or and some
propose proposes new use uses using i'm writing section need looking surveying project method methods approach
approaches model models"""))
_FILLER = set(words("paper pls please thanks thank quick short tell me give summary about can could you just the "
                    "is was whats what's do does did on of in ok okay hey hi so"))

# Score shape: with the topic cue switched off, "second BM25 score >= 0.7 x the best" routes all 13 train topics
# to topic and no answerable question of another kind (3 off-corpus ones, which keep the lookup refusal bar).
TOPIC_SHAPE = 0.7
# "hydra, groco?" lists names and little else; a claim joining names ("replacement of OCT4 and SOX2 genes with
# GATA3 ...") says more: 16 SciFact train claims took the list route, none of our questions did.
LIST_REST = 2
BY_SHAPE = "several papers score close to the best one"  # such a topic keeps the lookup refusal bar

# A specific detail: (question cue, what an evidence sentence must contain). Families of things an abstract may
# or may not state: licences, authors, hardware, training settings, sizes, cost, speed, venue, code, counts.
DETAILS: dict[str, tuple[str, str]] = {
    "licence": (r"\bli[cs]\w{0,3}n[cs]e?\w*|\bterms of use\b|\bcommercial use\b", r"\blicen[cs]"),
    "authors": (r"\bauthors?\b|\bwho (?:made|wrote|created|built|developed|authored|published|proposed|are)\b",
                r"\bauthors?\b|\bet al\b"),
    "hardware": (r"\bgpus?\b|\btpus?\b|\bhardware\b|\bv100|\ba100", r"\bgpus?\b|\btpus?\b|\bhardware\b|\bv100|\ba100"),
    "training settings": (r"\blearn\w* rate|\bbatch size|\bepochs?\b|\bhyper-?parameters?|\boptimi[sz]er\b|"
                          r"\bweight decay", r"\blearning rate|\bbatch size|\bepochs?\b|\bhyper-?parameters?|"
                          r"\boptimi[sz]er\b|\bweight decay"),
    "parameters": (r"\bparameters?\b|\bparams\b|\bmodel size", r"\d[\d.,]*\s*[mbk]?\s*(?:parameters|params)\b|"
                   r"\bparameters\b.{0,20}\d"),
    "cost": (r"\bcost\b|\bbudget\b|\bgpu[- ]?hours\b|\bhow long .{0,30}train|\bcompute\b", r"\bcost|\bbudget|\bhours\b|"
             r"\bdays\b|\bcompute\b"),
    "speed": (r"\bspeed\b|\bhow fast\b|\bruntime\b|\blatency\b|\bfps\b|\binference time\b|\breal[- ]time\b",
              r"\bspeed|\bfast|\bruntime|\blatency|\bfps\b|\breal[- ]time|\bms\b|\bseconds?\b|\befficien"),
    "venue": (r"\bvenue\b|\bconference\b|\bjournal\b|\bpublished (?:in|at)\b|\baccepted (?:at|to)\b",
              r"\bconference\b|\bjournal\b|\baccepted\b|\bcvpr|\biccv|\beccv|\bneurips|\biclr|\bicml|\baaai"),
    "code": (r"\bcode\b|\bgithub\b|\bsource code\b|\bimplementation\b|\bopen[- ]sourced?\b",
             r"\bcode\b|\bgithub|https?://|\bopen[- ]sourc|\bavailable at\b|\breleased?\b"),
    "agreement": (r"\bagreement\b|\binter-?(?:annotator|rater)\b|\bkappa\b", r"\bagreement\b|\bkappa\b"),
    "count": (r"\bhow many\b|\bnumber of\b|\bcount\b", r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|"
              r"ten|dozens?|hundreds?|thousands?|millions?|billions?)\b"),
    "amount": (r"\bhow (?:much|big|large|long|close|small|high|low)\b|\bsize of\b|\bwhat resolution\b",
               r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundreds?|thousands?|millions?|billions?)\b"),
}


@dataclass(frozen=True)
class Understanding:
    """What the answer path decided about a question, with the reason (shown by the CLI, UI and evaluation)."""

    question: str  # as typed
    standalone: str  # with follow-up references resolved
    kind: str
    reason: str  # why this kind
    sides: tuple[str, ...] = ()  # what a comparison compares, as retrieval queries (descriptions, not names)
    detail: bool = False  # a specific detail (count, budget, licence) is asked for
    papers: tuple[str, ...] = ()  # ids the question names or refers to, in the order named
    scope: tuple[str, ...] = ()  # a follow-up picking among earlier papers ("which of those ..."): their ids
    details: tuple[str, ...] = ()  # which DETAILS families are asked
    terms: tuple[str, ...] = ()  # a topic's own words (stems), without the words that ask for papers


def understand(question: str, history: Sequence[tuple[str, Answer]] = (), kind: str | None = None,
               library: Library | None = None) -> Understanding:
    """The understanding step for one question (and the conversation so far)."""
    papers = library.papers if library is not None else {}
    first = _mentions(library, question)
    r = resolve(question, history, papers, [m.pid for m in first])
    standalone = library.names.respell(r.standalone, CUE_WORDS) if library is not None else r.standalone
    mentions = _mentions(library, standalone) if standalone != question else first
    if r.scope:  # the earlier papers are listed in the rewrite to pick among, not named
        mentions = first
    named = list(dict.fromkeys([*(m.pid for m in mentions), *r.papers]))
    side_texts = sides(standalone, mentions)
    # "which of those ..." is routed on the question as typed: the rewrite lists the earlier papers' names.
    routed, reason = route_kind(question if r.scope else standalone, named, side_texts, mentions, bool(r.scope))
    if routed == DEFAULT_KIND and not named and not r.scope and library is not None \
            and not _SINGLE_LOOKUP.search(standalone) and _several_close(library, standalone):
        routed, reason = "topic", BY_SHAPE
    if kind:
        routed, reason = kind, "kind given by the caller"
    # A detail is asked of a paper the question names or refers to ("what licence does X use").
    asked = detail_families(standalone, mentions) if routed == DEFAULT_KIND and named else ()
    terms = topic_terms(standalone) if routed == "topic" else ()
    return Understanding(question, standalone, routed, reason, tuple(side_texts), bool(asked), tuple(named),
                         r.scope, asked, terms)


def topic_terms(text: str) -> tuple[str, ...]:
    """The stems of a topic question that name the topic ("give me all the papers on domain adaptation" ->
    domain, adapt)."""
    return tuple(dict.fromkeys(w for w in words(text) if w not in _REQUEST))


def _several_close(library: Library, text: str) -> bool:
    """True when the second paper's BM25 score is within TOPIC_SHAPE of the best (no paper stands out)."""
    scores = library.lexical.scores(text)  # no embedding: the answer path embeds the question once, later
    if len(scores) < 2:
        return False
    first, second = np.partition(scores, len(scores) - 2)[-1:-3:-1]
    return first > 0 and second >= TOPIC_SHAPE * first


def _mentions(library: Library | None, text: str) -> list[Mention]:
    if library is None:
        return []
    spans = _side_spans(text)
    found = library.names.find(text, whole=lambda s, e: any(a <= s and e <= b and
                                                            not text[a:s].strip(" ,.?") and
                                                            not text[e:b].strip(" ,.?") for a, b in spans))
    for q in re.finditer(r"['‘\"“]([^'’\"”]{12,})['’\"”]", text):  # a quoted title
        pid = match_title(q.group(1), library.search(library.query(q.group(1)), 20))
        if pid and pid not in {m.pid for m in found}:
            found.append(Mention(pid, q.start(), q.end(), q.group(1).lower(), True))
    return sorted(found, key=lambda m: m.start)


def route_kind(question: str, named: Sequence[str] = (), sides_: Sequence[str] = (),
               mentions: Sequence[Mention] = (), scoped: bool = False) -> tuple[str, str]:
    """(kind, reason) from the wording and the papers named."""
    q = question
    n_sides = len(named) + len([s for s in sides_ if not any(m.key in s.lower() for m in mentions)])
    if compares(q) and len(named) >= 2:
        return "comparative", "compares papers it names"
    if _SUMMARY.search(q) and len(named) <= 1:
        return "summary", "asks for a summary"
    if compares(q) and n_sides >= 2 and not (_ASKS_WHICH.search(q) and len(named) < 2):
        return "comparative", "asks for a comparison"
    if scoped:
        return ("topic", "asks which of the earlier papers") if re.search(r"\bwhich (?:ones|papers)\b|\bare\b", q) \
            else ("lookup", "asks which of the earlier papers")
    if not named and _TOPIC.search(q) and not _SINGLE_LOOKUP.search(q):
        return "topic", "asks for the papers on a topic"
    if len(named) == 1 and not _rest(q, mentions):
        return "summary", "names one paper and asks nothing else"
    if len(named) >= 2 and _rest_joins(q) and len(_rest(q, mentions)) <= LIST_REST:
        return "comparative", "names several papers"
    return DEFAULT_KIND, "asks for one paper or a detail"


def compares(q: str) -> bool:
    """True when the wording asks for a comparison (a comparison cue that is not a relating "between")."""
    relating = [m.span() for m in _RELATING.finditer(q)]
    return any(not any(a <= m.start() < b for a, b in relating) for m in _COMPARE.finditer(q))


def _rest(q: str, mentions: Sequence[Mention]) -> set[str]:
    """The question's content words once the names are taken out."""
    for m in sorted(mentions, key=lambda m: -m.start):
        q = q[: m.start] + " " + q[m.end:]
    return set(words(q)) - _FILLER


def _rest_joins(q: str) -> bool:
    return re.search(r"\band\b|,|/|\bor\b|&", q) is not None


_LEADING = re.compile(r"^\s*(?:(?:can you |please |pls )?(?:compare|contrast)(?: how| the| what)?|how (?:do|does|is|are|did)"
                      r"|what(?:'s| is| are)? the (?:main )?differences? between|list the differences between"
                      r"|(?:the )?differences? between|in what ways? (?:do|does|is|are))\s+", re.IGNORECASE)
_JOIN = re.compile(r"\s+(?:vs\.?|versus|different from|differ from|differs from|compared? (?:to|with)|against|and|or)"
                   r"\s+|\s*,\s*(?:and\s+|or\s+)?|\s*/\s*", re.IGNORECASE)
_TAIL = re.compile(r"\s+(?:differ(?!s?\s+from)|each|both|compare|in terms|on how|in how|in what|whats|what's|which is|which one"
                   r"|how (?:do|does|are|is)|are they|is it|they|share|approach|handle|use|do they)\b.*$", re.IGNORECASE)


def _clauses(question: str) -> list[tuple[int, str]]:
    """The clauses that may carry the comparison, the one with a comparison cue first."""
    parts = [(m.start(), m.group()) for m in re.finditer(r"[^.?!;]+[.?!;]?", question)]
    return [p for p in parts if compares(p[1])] + [p for p in parts if not compares(p[1])]


def _side_spans(question: str) -> list[tuple[int, int]]:
    """(start, end) of each side of a comparison in the question."""
    for off, clause in _clauses(question):
        spans = _clause_spans(off, clause)
        if len(spans) >= 2:
            return spans
    return []


def _clause_spans(off: int, clause: str) -> list[tuple[int, int]]:
    lead = _LEADING.match(clause)
    body_start = lead.end() if lead else 0
    body = clause[body_start:]
    tail = _TAIL.search(body)
    body = body[: tail.start()] if tail else body
    body = re.split(r"[?.!]", body)[0]
    spans, pos = [], 0
    for m in list(_JOIN.finditer(body)) + [None]:
        end = m.start() if m else len(body)
        if body[pos:end].strip():
            spans.append((off + body_start + pos, off + body_start + end))
        pos = m.end() if m else pos
    return spans


def sides(question: str, mentions: Sequence[Mention] = ()) -> list[str]:
    """The described sides of a comparison (parts naming no paper), as retrieval queries, in question order."""
    out = []
    for s, e in _side_spans(question):
        if any(m.start < e and s < m.end for m in mentions):
            out.append(question[s:e].strip())  # kept (its place counts) but resolved by name
            continue
        text = question[s:e].strip(" ,.?")
        if len(set(words(text)) - _FILLER) >= 2:
            out.append(text)
        elif out:
            out[-1] = f"{out[-1]} and {text}"  # "strategies and datasets" is one side
    return out[:4]


def detail_families(question: str, mentions: Sequence[Mention] = ()) -> tuple[str, ...]:
    """The DETAILS families the question asks about."""
    q = question
    for m in sorted(mentions, key=lambda m: -m.start):
        q = q[: m.start] + " " + q[m.end:]
    return tuple(name for name, (cue, _) in DETAILS.items() if re.search(cue, q, re.IGNORECASE))
