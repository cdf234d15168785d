"""Plain text from what leaks into titles and abstracts (HTML entities, simple LaTeX), keys and slugs."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

_SLUG_MAX = 64  # the ids in shared/eval/papers.jsonl are cut at a word boundary to at most 64 characters

# Our own rules, not pylatexenc (bibtexparser's LatexDecodingMiddleware), for every format: with its defaults
# 5 of the 13 cases in test_normalize_text come out different ("\ie" dropped, "--" made a dash, "host/~user"
# split, math kept as "$\mathcal{L}$", a bare "&" dropped), an unescaped "%" (common in exported abstracts) ends the
# text as a LaTeX comment, and 3,000 nested braces raise RecursionError.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328", "r": "\u030a"}
_ACCENT_SYMBOL = re.compile(r"""\\(["'`^~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))""")
_ACCENT_LETTER = re.compile(r"\\([cvuHkr])(?:\s*\{\s*(\\?[A-Za-z])\s*\}|\s+([A-Za-z]))")
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
            "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ"}
_LETTER_CMD = re.compile(r"\\(ss|o|O|ae|AE|oe|OE|aa|AA|l|L|i|j)(?![A-Za-z])(?:\s*\{\s*\})?")
_ABBREVS = {"ie": "i.e.", "eg": "e.g.", "etal": "et al.", "etc": "etc.", "vs": "vs.", "cf": "cf.", "wrt": "w.r.t."}
_ABBREV_CMD = re.compile(r"\\(ie|eg|etal|etc|vs|cf|wrt)(?![A-Za-z])\.?(?:\\\s|\{\})?")
_ESCAPED = re.compile(r"\\([&%$#_{}])")
_DROP_WITH_ARG = re.compile(r"\\(?:cite[tp]?|ref|eqref|label|footnote)\*?\s*(?:\[[^\]]*\])?\{[^{}]*\}")
_STYLE_CMD = re.compile(
    r"\\(?:emph|textbf|textit|textsc|texttt|textrm|textsf|textup|textnormal|text|mathrm|mathbf|mathit|mathsf|"
    r"mathtt|mathcal|mathbb|mathfrak|boldsymbol|bm|underline|mbox|hbox|textsuperscript|textsubscript|url)\s*(?=\{)"
)
_SPACING_CMD = re.compile(r"\\(?:[,;:! ]|\\|quad|qquad|newline)")
_OTHER_CMD = re.compile(r"\\([A-Za-z]+)")
_DISPLAY_MATH = re.compile(r"\$\$([^$]{1,2000})\$\$")
# Pandoc's rule for inline math: "$" then non-space ... non-space then "$" not followed by a digit, so
# "costs $5 and $10" keeps its dollars while "$x^2$" loses them.
_INLINE_MATH = re.compile(r"\$(?=\S)([^$]{1,1000}?)(?<=\S)\$(?!\d)")
_TILDE = re.compile(r"(?<![/\\])~")  # "~" is a LaTeX non-breaking space, except in URLs like host/~user
# Private-use stand-ins for escaped characters, so that brace and dollar removal leave \{ \} \$ alone.
_GUARD = {"&": "\ue000", "%": "\ue001", "$": "\ue002", "#": "\ue003", "_": "\ue004", "{": "\ue005", "}": "\ue006"}
_UNGUARD = {v: k for k, v in _GUARD.items()}
_UNGUARD_RE = re.compile("[\ue000-\ue006]")


def squash(text: str) -> str:
    """Drop control characters and collapse all whitespace runs to one space."""
    return " ".join(_CONTROL.sub("", text).split())


def shorten(text: str, limit: int = 60) -> str:
    """One line of at most limit characters, for quoting input in a problem line."""
    text = squash(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _accent(match: re.Match[str]) -> str:
    letter = match.group(2) or match.group(3)
    letter = {"\\i": "i", "\\j": "j"}.get(letter, letter.lstrip("\\"))
    return unicodedata.normalize("NFC", letter + _ACCENTS[match.group(1)])


def _strip_latex(text: str) -> str:
    """Turn the LaTeX that leaks into titles and abstracts into plain text; leave anything unknown readable."""
    if "\\" not in text and "{" not in text and "$" not in text and "~" not in text:
        return text
    text = _UNGUARD_RE.sub("", text)  # our stand-ins must not already be in the input
    text = _ESCAPED.sub(lambda m: _GUARD[m.group(1)], text)
    text = _ACCENT_SYMBOL.sub(_accent, text)
    text = _ACCENT_LETTER.sub(_accent, text)
    text = _LETTER_CMD.sub(lambda m: _LETTERS[m.group(1)], text)
    text = _ABBREV_CMD.sub(lambda m: _ABBREVS[m.group(1)], text)
    text = _DROP_WITH_ARG.sub("", text)
    text = _STYLE_CMD.sub("", text)
    text = _SPACING_CMD.sub(" ", text)
    text = _DISPLAY_MATH.sub(r"\1", text)
    text = _INLINE_MATH.sub(r"\1", text)
    text = _OTHER_CMD.sub(r"\1", text)  # \alpha -> "alpha": readable and searchable
    text = text.replace("{", "").replace("}", "")
    text = _TILDE.sub(" ", text)
    return _UNGUARD_RE.sub(lambda m: _UNGUARD[m.group(0)], text)


def normalize_text(text: str) -> str:
    """Decode HTML entities, turn simple LaTeX into plain text, collapse whitespace and strip."""
    text = html.unescape(str(text))
    text = _strip_latex(text)
    text = unicodedata.normalize("NFC", text)
    return squash(text)


def normalize_title_key(title: str) -> str:
    """Lowercase alphanumeric-only key of a title, to spot the same paper across files."""
    text = unicodedata.normalize("NFKD", normalize_text(title)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def slugify(title: str) -> str:
    """Lowercase ASCII slug of a title, cut at a word boundary to at most 64 characters."""
    ascii_text = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > _SLUG_MAX:
        # The last word of the 64-character head is always dropped, even when it happens to be whole:
        # that is the rule behind the published ids ("...-with-group", not "...-with-group-ordering").
        head = slug[:_SLUG_MAX]
        cut = head.rfind("-")
        slug = head[:cut] if cut > 0 else head
    if not slug and str(title).strip():
        # A title with no ASCII letters (e.g. Chinese) still needs a stable, distinct id.
        digest = hashlib.sha1(str(title).strip().encode("utf-8", "surrogatepass")).hexdigest()
        slug = f"paper-{digest[:12]}"
    return slug
