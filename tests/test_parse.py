"""ingest.parse: every input format to Paper records and `file:line:` problems, on tiny files in tests/data."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import ParseError
from assistant.records import Paper
from ingest.parse import (
    FORMATS,
    detect_format,
    iter_records,
    normalize_text,
    normalize_title_key,
    parse_file,
    slugify,
    write_bibtex,
)

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).parents[2] / "shared"
EXTENSION = {"daily": ".txt", "jsonl": ".jsonl", "json": ".json", "csv": ".csv", "tsv": ".tsv",
             "bibtex": ".bib", "arxiv": ".xml"}


def lines_of(problems: list[str]) -> list[int]:
    """The line numbers of `file:line: message` problems, in order."""
    return [int(p.split(":")[1]) for p in problems]


# --- the demo corpus -------------------------------------------------------------------------------------------


# Skipped only outside CI: in CI a missing ../shared must fail, not skip silently.
@pytest.mark.skipif(not (SHARED / "corpus" / "daily-papers.txt").exists() and not os.environ.get("CI"),
                    reason="shared demo corpus not present")
def test_demo_page_gives_exactly_the_eval_papers():
    papers, problems = parse_file(SHARED / "corpus" / "daily-papers.txt")
    expected = [json.loads(line) for line in (SHARED / "eval" / "papers.jsonl").read_text().splitlines()]
    assert problems == []
    assert len(papers) == len(expected) == 76
    assert [(p.id, p.title, p.abstract) for p in papers] == [(e["id"], e["title"], e["abstract"]) for e in expected]
    assert papers[0].line == 13 and papers[1].line == 17  # the title line, after 12 lines of page chrome
    assert detect_format(SHARED / "corpus" / "daily-papers.txt") == "daily"


@pytest.mark.skipif(not (SHARED / "eval" / "papers.jsonl").exists() and not os.environ.get("CI"),
                    reason="shared eval set not present")
def test_slugify_reproduces_every_published_id():
    expected = [json.loads(line) for line in (SHARED / "eval" / "papers.jsonl").read_text().splitlines()]
    assert [slugify(e["title"]) for e in expected] == [e["id"] for e in expected]


# --- daily page ------------------------------------------------------------------------------------------------


def test_daily_sample_drops_chrome_and_keeps_text_literal():
    papers, problems = parse_file(DATA / "sample_daily.txt")
    assert [(p.id, p.title, p.line) for p in papers] == [
        ("tiny-models-small-but-mighty", "Tiny Models: Small but Mighty", 13),
        ("second-paper-title", "Second Paper Title", 20),
    ]
    # A wrapped abstract is joined; rendered page text keeps "&" and "\ie" as the page shows them.
    assert papers[0].abstract == (
        "We show that small models, when trained carefully, match larger ones on many benchmarks. "
        "Our recipe is simple & cheap: it needs \\ie nothing but data."
    )
    assert papers[0].source == str(DATA / "sample_daily.txt")
    assert problems == [f"{DATA / 'sample_daily.txt'}:24: title 'A Title Without Abstract' has no abstract after it"]


def test_daily_two_titles_in_a_row(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text("First Title\n\nSecond Title\n\nThe abstract of the second paper, which is a full sentence.\n")
    papers, problems = parse_file(path)
    assert [p.title for p in papers] == ["Second Title"]
    assert problems == [f"{path}:1: title 'First Title' has no abstract after it"]


# --- JSON Lines / JSON -----------------------------------------------------------------------------------------


def test_jsonl_fields_and_aliases():
    papers, problems = parse_file(DATA / "sample.jsonl")
    assert problems == []
    first, second, third = papers
    assert first == Paper(
        id="2101.00001",
        title="Attention Is All You Need",
        abstract="We propose the Transformer & show it works, i.e. it is fast.",
        authors=["Ada Lovelace", "Alan Turing"],
        published="2021-01-04",
        url="https://arxiv.org/abs/2101.00001",
        categories=["cs.CL", "cs.LG"],
        source=str(DATA / "sample.jsonl"),
        line=1,
    )
    assert (second.id, second.abstract) == ("paper-7", "Molecules are graphs; we learn on them with O(n) cost.")
    assert second.authors == ["Grace Hopper", "Edsger Dijkstra"]
    assert (second.published, second.url, second.categories) == ("2021-03-05", "https://example.org/p7",
                                                                  ["chemistry", "graphs"])
    assert (third.id, third.abstract, third.line) == ("a-paper-with-no-id", "Its abstract lives in the text field.", 3)
    assert third.authors == ["Barbara Liskov", "Donald Knuth"]
    assert third.published == "2020-12-31"


def test_bad_jsonl_reports_each_line_and_keeps_the_good_ones():
    papers, problems = parse_file(DATA / "bad.jsonl")
    assert [(p.title, p.line) for p in papers] == [("Good One", 1), ("Good Two", 7)]
    assert papers[1].authors == [] and papers[1].published == ""  # junk optional fields are dropped, not fatal
    assert lines_of(problems) == [2, 4, 5, 6]
    assert problems[0].startswith(f"{DATA / 'bad.jsonl'}:2: invalid JSON: ")
    assert "no abstract" in problems[1]
    assert "expected a JSON object" in problems[2]
    assert "'title' should be text" in problems[3]


def test_hugging_face_api_shape():
    papers, problems = parse_file(DATA / "sample_hf.json")
    assert len(papers) == 1
    paper = papers[0]
    assert (paper.id, paper.title, paper.line) == ("2401.01234", "TinyLlama: An Open-Source Small Language Model", 2)
    assert paper.abstract == "We present TinyLlama, a compact 1.1B language model."
    assert paper.authors == ["Jane Doe", "John Roe"]
    assert paper.published == "2024-01-02"  # the paper's date, not the day it was featured
    assert paper.url == "https://arxiv.org/abs/2401.01234"
    assert problems == [f"{DATA / 'sample_hf.json'}:18: entry 2 has no abstract (expected a field abstract / summary / text)"]


def test_json_wrapper_object_and_old_style_arxiv_url():
    papers, problems = parse_file(DATA / "sample.json")
    assert [(p.id, p.title, p.published) for p in papers] == [("cs/0101001", "Wrapped Paper", "2001-01-01")]
    assert len(problems) == 1 and "entry 2 is not an object" in problems[0]


def test_json_file_that_is_really_json_lines(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('{"title": "A", "abstract": "a"}\n{"title": "B", "abstract": "b"}\n')
    papers, problems = parse_file(path)
    assert [(p.title, p.line) for p in papers] == [("A", 1), ("B", 2)] and problems == []


def test_json_deep_nesting_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + '\n{"title": "B", "abstract": "b"}\n')
    papers, problems = parse_file(path)
    assert [p.title for p in papers] == ["B"]
    assert problems == [f"{path}:1: invalid JSON: nested too deeply"]


# --- CSV / TSV -------------------------------------------------------------------------------------------------


def test_csv_rows_with_multiline_cells():
    papers, problems = parse_file(DATA / "sample.csv")
    first, second = papers
    assert (first.id, first.line) == ("1512.03385", 2)  # arXiv id from the URL column, version dropped
    assert first.abstract == "Deeper neural networks are more difficult to train. We present a residual learning framework."
    assert first.authors == ["Kaiming He", "Xiangyu Zhang"]
    assert first.published == "2015-12-10"
    assert (second.id, second.line, second.published) == ("csv-1", 4, "2020-01-10")  # row 2 spans lines 2-3
    assert second.authors == ["A. One", "B. Two"]
    assert problems == [f"{DATA / 'sample.csv'}:5: row has no abstract (expected a field abstract / summary / text)"]


def test_tsv_with_case_insensitive_aliases():
    papers, problems = parse_file(DATA / "sample.tsv")
    assert problems == []
    assert [(p.id, p.line) for p in papers] == [
        ("bert-pre-training-of-deep-bidirectional-transformers", 2),
        ("second-tsv-paper", 4),
    ]
    assert papers[0].abstract == "We introduce BERT."
    assert papers[0].categories == ["cs.CL", "cs.LG"]
    assert papers[1].categories == ["machine learning"]


def test_csv_header_without_title_column():
    papers, problems = parse_file(DATA / "bad_header.csv")
    assert papers == []
    assert problems == [f"{DATA / 'bad_header.csv'}:1: CSV header needs 'title' and 'abstract' columns (found: name, summary)"]


# --- BibTeX ----------------------------------------------------------------------------------------------------


def test_bibtex_fields_latex_and_authors():
    papers, problems = parse_file(DATA / "sample.bib")
    assert problems == []
    vaswani, muller = papers
    assert (vaswani.id, vaswani.line, vaswani.title) == ("1706.03762", 2, "Attention Is All You Need")
    assert vaswani.abstract == (
        "The dominant sequence transduction models are based on complex recurrent networks, e.g. RNNs. "
        "We propose the Transformer."
    )
    assert vaswani.authors == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert (vaswani.published, vaswani.categories) == ("2017-06-01", ["cs.CL"])
    assert vaswani.url == "https://arxiv.org/abs/1706.03762"
    assert (muller.id, muller.line, muller.title) == ("muller2020", 14, "Müller's Method for Études")
    assert muller.authors == ["Jürgen Müller", "François Café"]
    assert muller.abstract == "We compare 10% of the data & the rest on D."
    assert muller.url == "https://example.org/muller"


def test_bad_bibtex():
    papers, problems = parse_file(DATA / "bad.bib")
    assert [(p.id, p.line) for p in papers] == [("good2021", 8)]
    bib = DATA / "bad.bib"
    assert problems[0] == f"{bib}:1: entry 'noabs2020' has no abstract"
    assert problems[1].startswith(f"{bib}:6: cannot parse this BibTeX block: ")
    assert problems[2] == f"{bib}:12: duplicate entry key 'good2021' (the first one is kept)"
    assert len(problems) == 3


def test_bibtex_names_split_by_bibtexparser(tmp_path):
    path = tmp_path / "names.bib"
    path.write_text(
        "@article{a,\n  Title = {T},\n  Abstract = {Raw 10% of it stays.},\n"
        "  Author = {King, Jr., Martin Luther and van Gogh, Vincent and {Barnes and Noble} and A, B, C, D}\n}\n"
    )
    papers, problems = parse_file(path)
    assert problems == []
    # "Author" is matched whatever its case; a name with too many commas is kept as written, not dropped.
    assert papers[0].authors == ["Martin Luther King, Jr.", "Vincent van Gogh", "Barnes and Noble", "A, B, C, D"]
    assert papers[0].abstract == "Raw 10% of it stays."  # a bare "%" is text here, not a LaTeX comment


def test_write_bibtex_reads_back_to_the_same_papers(tmp_path):
    papers = parse_file(DATA / "sample.bib")[0] + parse_file(DATA / "sample.jsonl")[0] + [
        Paper(id="cs/0101001", title="Old-style id & 100% of_it #1", abstract="Costs $5 and $10; {braces} go.",
              authors=["Martin Luther King, Jr.", "Barnes and Noble", "Zoë Ünal"], published="2001-01-01"),
        Paper(id="no authors here", title="No Authors", abstract="Nothing else.", published=""),
    ]
    path = tmp_path / "export.bib"
    path.write_text(write_bibtex(papers + papers[:1]))  # a paper cited twice is written once
    back, problems = parse_file(path)
    assert problems == []
    assert [(p.title, p.authors, p.published[:4]) for p in back] == [
        (p.title, p.authors, p.published[:4]) for p in papers]
    assert [p.published for p in back] == [p.published for p in papers]
    assert [p.id for p in back][-2:] == ["cs/0101001", "no_authors_here"]  # arXiv ids via eprint; others as keys
    assert back[-2].abstract == "Costs $5 and $10; braces go."
    assert back[0].abstract == papers[0].abstract and back[0].url == papers[0].url


def test_write_bibtex_of_nothing_is_empty():
    assert write_bibtex([]) == ""


# --- arXiv Atom ------------------------------------------------------------------------------------------------


def test_arxiv_atom_feed():
    papers, problems = parse_file(DATA / "sample_arxiv.xml")
    new, old = papers
    assert new == Paper(
        id="2101.00001",
        title="Contrastive Learning of Visual Representations",
        abstract="We study contrastive learning & show that alpha-mixing helps.",
        authors=["Ting Chen", "Simon Kornblith"],
        published="2021-01-01",
        url="http://arxiv.org/abs/2101.00001v2",
        categories=["cs.CV", "cs.LG"],
        source=str(DATA / "sample_arxiv.xml"),
        line=6,
    )
    assert (old.id, old.line, old.categories) == ("cs/0101001", 22, ["cs.AI"])
    assert problems == [f"{DATA / 'sample_arxiv.xml'}:30: entry 'No Summary Entry' has no <summary> (abstract)"]


def test_arxiv_entity_bomb_is_refused():
    papers, problems = parse_file(DATA / "bomb_arxiv.xml")
    assert papers == []
    assert problems == [f"{DATA / 'bomb_arxiv.xml'}:1: XML with a DOCTYPE/ENTITY declaration is refused (unsafe)"]


def test_arxiv_api_error_and_broken_xml():
    papers, problems = parse_file(DATA / "bad_arxiv.xml")
    assert [(p.title, p.line) for p in papers] == [("Good", 8)]
    assert problems == [
        f"{DATA / 'bad_arxiv.xml'}:3: the arXiv API returned an error: incorrect id format for 1234",
        f"{DATA / 'bad_arxiv.xml'}:14: invalid XML: mismatched tag",
    ]


@pytest.mark.parametrize(("data", "expected"), [
    (b'<?xml version="1.0"?>\n<!DOCTYPE feed SYSTEM "http://example.org/feed.dtd">\n<feed/>',  # never fetched
     "1: XML with a DOCTYPE/ENTITY declaration is refused (unsafe)"),
    (b"<feed>\n<entry><title>&lol;</title><summary>s</summary></entry>\n</feed>", "2: invalid XML: undefined entity"),
])
def test_arxiv_dtd_and_entities_are_never_used(tmp_path, data, expected):
    path = tmp_path / "feed.xml"
    path.write_bytes(data)
    assert parse_file(path) == ([], [f"{path}:{expected}"])


def test_arxiv_junk_after_the_feed_keeps_the_entries_before_it(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<feed>\n<entry><title>T</title><summary>S</summary></entry>\n</feed>\n<feed/>")
    papers, problems = parse_file(path)
    assert [(p.title, p.line) for p in papers] == [("T", 2)]
    assert problems == [f"{path}:4: invalid XML: junk after document element"]


def test_arxiv_entry_line_across_a_read_boundary(tmp_path):
    path = tmp_path / "feed.xml"
    # The 64 KiB read boundary falls inside "<entry>": its line must still be found.
    path.write_bytes(b"<feed>" + b" " * (65536 - 9) + b"\n\n<entry><title>T</title><summary>S</summary></entry></feed>")
    papers, problems = parse_file(path)
    assert [(p.title, p.line) for p in papers] == [("T", 3)] and problems == []


# --- bytes that are not good text ------------------------------------------------------------------------------

BAD_UTF8 = {
    "jsonl": (b'{"title": "A", "abstract": "caf\xe9"}\n{"title": "B", "abstract": "b"}\n', 1),
    "json": (b'[{"title": "A", "abstract": "caf\xe9"}]\n', 1),
    "csv": (b"title,abstract\nA,caf\xe9\nB,b\n", 2),
    "tsv": (b"title\tabstract\nA\tcaf\xe9\nB\tb\n", 2),
    "bibtex": (b"@article{a,\n title={caf\xe9},\n abstract={x}}\n@article{b, title={B}, abstract={b}}\n", 2),
    "daily": (b"Title A\n\nAbstract caf\xe9, long enough to read.\n\nTitle B\n\nAbstract b is fine and long enough.\n", 3),
    "arxiv": (b"<feed><entry><title>caf\xe9</title><summary>x</summary></entry></feed>", 1),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_invalid_utf8_is_a_problem_line(tmp_path, fmt):
    data, bad_line = BAD_UTF8[fmt]
    path = tmp_path / f"file{EXTENSION[fmt]}"
    path.write_bytes(data)
    papers, problems = parse_file(path)
    assert lines_of(problems)[0] == bad_line
    assert "UTF-8" in problems[0] or "invalid XML" in problems[0]  # XML may declare another encoding
    assert all(p.title in ("B", "Title B") for p in papers)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),  # NUL bytes
    bytes(range(0x80, 0x100)) * 20 + b"\n",  # no NUL, but no UTF-8 either
], ids=["png", "high-bytes"])
def test_binary_file_is_one_problem(tmp_path, fmt, data):
    path = tmp_path / f"image{EXTENSION[fmt]}"
    path.write_bytes(data)
    assert list(iter_records(path)) == [f"{path}:1: binary file, not a text export of papers (check the file name)"]


def test_utf16_and_pdf_get_a_hint(tmp_path):
    utf16 = tmp_path / "papers.jsonl"
    utf16.write_bytes('{"title": "T", "abstract": "A"}\n'.encode("utf-16"))
    assert list(iter_records(utf16)) == [f"{utf16}:1: file is UTF-16 text; save it as UTF-8 and retry"]
    pdf = tmp_path / "paper.txt"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert "this is a PDF" in list(iter_records(pdf))[0]


def test_unreadable_file_is_a_problem_line(tmp_path):
    assert list(iter_records(tmp_path / "missing.jsonl")) == [
        f"{tmp_path / 'missing.jsonl'}:1: cannot read the file: No such file or directory"
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "daily", "arxiv"])
def test_large_files_stream(tmp_path, fmt):
    """A 4 MB file is parsed with well under 1 MB of Python memory: records are never all held at once."""
    abstract = "word " * 400
    path = tmp_path / f"big{EXTENSION[fmt]}"
    with open(path, "w") as f:
        if fmt == "csv":
            f.write("title,abstract\n")
        if fmt == "arxiv":
            f.write('<feed xmlns="http://www.w3.org/2005/Atom">\n')
        for i in range(2000):
            title = f"Paper number {i}"
            f.write({
                "jsonl": json.dumps({"title": title, "abstract": abstract}) + "\n",
                "csv": f"{title},{abstract}\n",
                "daily": f"{title}\n\n{abstract}.\n\n",
                "arxiv": f"<entry><title>{title}</title><summary>{abstract}</summary></entry>\n",
            }[fmt])
        if fmt == "arxiv":
            f.write("</feed>\n")
    assert path.stat().st_size > 4_000_000
    tracemalloc.start()
    try:
        count = sum(isinstance(r, Paper) for r in iter_records(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 1_000_000


# --- format detection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), [
    ("sample.jsonl", "jsonl"), ("sample_hf.json", "json"), ("sample.csv", "csv"), ("sample.tsv", "tsv"),
    ("sample.bib", "bibtex"), ("sample_arxiv.xml", "arxiv"), ("sample_daily.txt", "daily"),
])
def test_detect_format_by_extension_and_by_content(tmp_path, name, fmt):
    assert detect_format(DATA / name) == fmt
    unnamed = tmp_path / "export.dat"  # no telling extension: the content decides
    unnamed.write_bytes((DATA / name).read_bytes())
    assert detect_format(unnamed) == fmt
    assert [p.title for p in parse_file(unnamed)[0]] == [p.title for p in parse_file(DATA / name)[0]]


def test_unknown_format_says_use_format(tmp_path):
    path = tmp_path / "notes.dat"
    path.write_text("hello")
    with pytest.raises(ParseError) as err:
        detect_format(path)
    assert err.value.problems[0].startswith(f"{path}:1: cannot tell the format")
    assert "--format" in str(err.value)


def test_explicit_format_overrides_the_extension(tmp_path):
    path = tmp_path / "papers.txt"
    path.write_text('{"title": "T", "abstract": "A"}\n')
    assert [p.title for p in parse_file(path, "jsonl")[0]] == ["T"]


# --- normalisation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "clean"), [
    ("  Deep\n\tnets  ", "Deep nets"),
    ("A &amp; B &lt;i&gt;", "A & B <i>"),
    (r"\emph{Deep} \textbf{nets} and \textit{more}", "Deep nets and more"),
    (r"{BERT} is {G}ood", "BERT is Good"),
    (r"models, \ie, fast; \eg RNNs", "models, i.e., fast; e.g. RNNs"),
    (r"data \& code, 10\% of it", "data & code, 10% of it"),
    ("Fig.~3 and --- also -- ranges", "Fig. 3 and --- also -- ranges"),
    (r"loss $\mathcal{L} = x^2$ here", "loss L = x^2 here"),
    ("costs $5 and $10", "costs $5 and $10"),  # not math: dollars kept
    (r"M{\"u}ller and \'Etudes", "Müller and Études"),
    ("see http://host/~user", "see http://host/~user"),
    ("nul\x00byte", "nulbyte"),
    ("", ""),
])
def test_normalize_text(raw, clean):
    assert normalize_text(raw) == clean


def test_normalize_title_key_matches_the_same_title_written_differently():
    assert normalize_title_key("Attention Is All You {Need}!") == normalize_title_key("attention is all you need")
    assert normalize_title_key("Attention Is All You Need") == "attentionisallyouneed"
    assert normalize_title_key("Müller-Net") == normalize_title_key("Muller Net")
    assert normalize_title_key("Paper A") != normalize_title_key("Paper B")


def test_slugify():
    assert slugify("G-SimCLR : Self-Supervised Contrastive Learning") == "g-simclr-self-supervised-contrastive-learning"
    assert slugify("Über naïve café") == "uber-naive-cafe"
    assert slugify("x" * 80) == "x" * 64  # one long word is cut hard
    assert slugify("日本語のタイトル").startswith("paper-")  # no ASCII letters: a stable hash id
    assert slugify("日本語のタイトル") != slugify("別のタイトル")
    assert slugify("") == ""


@pytest.mark.parametrize(("raw", "iso"), [
    ("2024-01-02T10:11:12.000Z", "2024-01-02"), ("2020/12/31", "2020-12-31"), ("March 5, 2021", "2021-03-05"),
    ("10 Jan 2020", "2020-01-10"), ("2019", "2019-01-01"), ("Jun 2017", "2017-06-01"),
    ("2021-02-30", ""), ("yesterday", ""), ("Summary 2021", ""),
])
def test_dates(tmp_path, raw, iso):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"title": "T", "abstract": "A", "date": raw}) + "\n")
    assert parse_file(path)[0][0].published == iso


# --- never crash: arbitrary input to every parser --------------------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["title", "abstract", "summary", "id", "authors", "name", "paper", "date", "tags", "url"]),
        inner, max_size=4),
    max_leaves=8,
)
_FLAVOURED = {
    "jsonl": st.lists(_JSON_VALUES.map(json.dumps), max_size=5).map("\n".join),
    "json": _JSON_VALUES.map(json.dumps),
    "csv": st.text(alphabet='title,abstract"\n\r x', max_size=200),
    "tsv": st.text(alphabet='title\tabstract"\n x', max_size=200),
    "bibtex": st.text(alphabet='@article{}=,"\\# \nabstrcte%&$~', max_size=300),
    "arxiv": st.text(alphabet='<>/=" \n&;!-?[]feedntrysumaitl', max_size=300).map(lambda s: "<feed><entry>" + s),
    "daily": st.text(alphabet="Aug 1new\n\n .\\&", max_size=300),
}
_PROBLEM = re.compile(r".+:\d+: .+", re.DOTALL)


@pytest.mark.parametrize("fmt", FORMATS)
def test_any_input_gives_papers_and_problems_never_an_exception(fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{EXTENSION[fmt]}"

        @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         _FLAVOURED[fmt].map(lambda s: s.encode("utf-8", "surrogatepass"))))
        def check(data: bytes) -> None:
            path.write_bytes(data)
            for record in iter_records(path, fmt):
                if isinstance(record, str):
                    assert record.startswith(f"{path}:") and _PROBLEM.fullmatch(record)
                else:
                    assert isinstance(record, Paper)
                    assert record.id and record.title and record.abstract and record.line >= 1

        check()


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=2000))
def test_normalisers_accept_any_text(text):
    clean = normalize_text(text)
    assert clean == clean.strip() and "  " not in clean
    assert re.fullmatch(r"[a-z0-9-]*", slugify(text)) and len(slugify(text)) <= 64
    assert all(ch.isalnum() for ch in normalize_title_key(text))
