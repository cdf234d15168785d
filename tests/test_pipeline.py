"""The pipeline on a real Chroma in tmp_path with the real offline embedder."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace

import pytest

from assistant.corpus import ingest_paths, open_corpus
from assistant.embed import DIMENSION, MODEL_NAME
from assistant.errors import ParseError, StoreError
from assistant.prompts import NOT_FOUND
from assistant.records import Filters
from assistant.settings import load_settings
from assistant.store import open_store

ADVCLIP = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_demo_store_has_every_paper_once(demo_settings):
    stats = open_corpus(demo_settings).stats()
    assert stats["papers"] == 76
    assert 76 < stats["chunks"] < 76 * 4


def test_reingest_unchanged_writes_nothing(demo_settings, embedder):
    from tests.conftest import DEMO

    report = ingest_paths([DEMO], demo_settings, embedder=embedder)
    assert (report.added, report.updated, report.unchanged, report.chunks_written) == (0, 0, 76, 0)


def test_changed_paper_replaces_its_chunks_without_orphans(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    long_abstract = " ".join(f"Sentence number {i} describes a contrastive method for images." for i in range(40))
    src = _jsonl(tmp_path / "a.jsonl", [{"id": "p1", "title": "Long paper", "abstract": long_abstract},
                                        {"id": "p2", "title": "Other paper", "abstract": "A short abstract here."}])
    ingest_paths([src], settings, embedder=embedder)
    before = open_corpus(settings).stats()
    assert before["papers"] == 2 and before["chunks"] > 3
    _jsonl(src, [{"id": "p1", "title": "Long paper", "abstract": "Now it is short."},
                 {"id": "p2", "title": "Other paper", "abstract": "A short abstract here."}])
    report = ingest_paths([src], settings, embedder=embedder)
    assert (report.updated, report.unchanged) == (1, 1)
    assert open_corpus(settings).stats() == {"papers": 2, "chunks": 2}


def test_bad_file_is_reported_with_line_and_store_is_unchanged(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    good = _jsonl(tmp_path / "good.jsonl", [{"id": "g", "title": "Good paper", "abstract": "Fine abstract."}])
    ingest_paths([good], settings, embedder=embedder)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "title": "New paper", "abstract": "ok"}) + "\n{not json\n"
                   + json.dumps({"id": "y", "title": "No abstract"}) + "\n")
    with pytest.raises(ParseError) as err:
        ingest_paths([bad], settings, embedder=embedder)
    lines = str(err.value).splitlines()
    assert lines[0].startswith(f"{bad}:2:") and lines[1].startswith(f"{bad}:3:")
    assert open_corpus(settings).stats() == {"papers": 1, "chunks": 1}
    report = ingest_paths([bad], settings, skip_invalid=True, embedder=embedder)
    assert report.added == 1 and len(report.problems) == 2


def test_same_paper_in_two_files_is_stored_once(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    a = _jsonl(tmp_path / "a.jsonl", [{"id": "2101.00001", "title": "A Study of Things", "abstract": "Things."}])
    b = _jsonl(tmp_path / "b.jsonl", [{"id": "other", "title": "A study of things!", "abstract": "Things."}])
    report = ingest_paths([a, b], settings, embedder=embedder)
    assert report.added == 1 and report.duplicates == 1


def test_missing_or_empty_store_says_what_to_run(tmp_path):
    with pytest.raises(StoreError, match="paperchat ingest"):
        open_corpus(load_settings(store=tmp_path / "nothing"))


def test_lookup_retrieves_advclip_first(extractive_assistant):
    sources = extractive_assistant.retrieve("universal adversarial patch against CLIP-like pre-trained encoders", k=5)
    assert sources[0].id == ADVCLIP
    assert len({s.id for s in sources}) == len(sources) == 5


def test_filters_never_return_papers_outside_them(tmp_path, embedder):
    from assistant.service import Assistant

    settings = load_settings(store=tmp_path / "s", extractive=True)
    rows = [{"id": f"p{i}", "title": f"Contrastive learning study {i}", "abstract": "Contrastive learning of images.",
             "published": f"202{i}-01-15", "authors": ["Ada Lovelace" if i % 2 else "Alan Turing"],
             "categories": ["cs.CV" if i < 3 else "cs.LG"]} for i in range(6)]
    ingest_paths([_jsonl(tmp_path / "f.jsonl", rows)], settings, embedder=embedder)
    a = Assistant(settings, embedder=embedder)
    got = a.retrieve("contrastive learning", k=10, filters=Filters.from_text(since="2022-01-01", until="2024-12-31"))
    assert {s.id for s in got} == {"p2", "p3", "p4"}
    got = a.retrieve("contrastive learning", k=10, filters=Filters.from_text(author="lovelace"))
    assert {s.id for s in got} == {"p1", "p3", "p5"}
    got = a.retrieve("contrastive learning", k=10, filters=Filters.from_text(tag="cs.lg"))
    assert {s.id for s in got} == {"p3", "p4", "p5"}


def test_unanswerable_question_is_refused_with_no_citations(extractive_assistant):
    ans = extractive_assistant.ask("Which paper proposes a method for optical flow estimation between consecutive "
                                   "video frames?")
    assert ans.refused and ans.text == NOT_FOUND and ans.citations == ()


def test_detail_the_abstract_does_not_give_is_refused(extractive_assistant):
    ans = extractive_assistant.ask("How many parameters does the CaSED model have?")
    assert ans.refused and ans.citations == ()


def test_extractive_lookup_cites_the_right_paper(extractive_assistant):
    ans = extractive_assistant.ask("Which attack builds a universal adversarial patch against CLIP-like encoders?")
    assert not ans.refused and ans.extractive
    assert [c.id for c in ans.citations] == [ADVCLIP]
    assert all(s.supported and s.citations == (1,) for s in ans.sentences)


def test_comparison_has_a_cited_table_for_both_papers(extractive_assistant):
    ans = extractive_assistant.ask("How do GroCo and AMCL each change the way positive- and negative-pair "
                                   "similarities enter the contrastive loss?")
    assert ans.kind == "comparative"
    titles = [p.title for p in ans.table.papers]
    assert any(t.startswith("Learning by Sorting") for t in titles)
    assert any(t.startswith("Adaptive Multi-head Contrastive") for t in titles)
    assert len(ans.table.cells) == len(ans.table.aspects) == 4
    cited = {c.n for c in ans.citations}
    for row in ans.table.cells:
        for cell in row:
            assert cell.citation in cited or cell.text == "not stated in the abstract"


def test_follow_up_is_rewritten_from_the_previous_answer(extractive_assistant):
    first = extractive_assistant.ask("Which attack builds a universal adversarial patch against CLIP-like encoders?")
    follow = extractive_assistant.ask("And which defenses did they test against it?",
                                      history=[(first.question, first)])
    assert "AdvCLIP" in follow.standalone_question
    assert [c.id for c in follow.citations] == [ADVCLIP]


def test_broken_prompt_template_fails_at_start(tmp_path):
    import shutil

    from assistant.errors import ConfigError
    from assistant.prompts import PROMPT_DIR, load_prompts

    shutil.copytree(PROMPT_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "answer_user.txt").write_text("Sources: {sources}\nQuestion: {questoin}\n")
    with pytest.raises(ConfigError, match="answer_user.txt"):
        load_prompts(tmp_path)


def test_every_registered_kind_needs_its_task_prompt(tmp_path):
    import shutil

    from assistant.errors import ConfigError
    from assistant.prompts import PROMPT_DIR, load_prompts

    shutil.copytree(PROMPT_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "tasks" / "topic.txt").unlink()
    with pytest.raises(ConfigError, match="topic.txt"):
        load_prompts(tmp_path)


def test_settings_from_env_and_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERCHAT_K", "7")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    s = load_settings(store=tmp_path)
    assert s.k == 7 and s.store == tmp_path and s.remote_llm
    assert replace(s, openai_base_url="").remote_llm is False


def test_every_format_ingests_from_the_sample_files(tmp_path, embedder):
    from tests.conftest import DATA

    settings = load_settings(store=tmp_path / "s")
    samples = sorted(DATA.glob("sample*"))
    assert {p.suffix for p in samples} == {".bib", ".csv", ".json", ".jsonl", ".tsv", ".xml", ".txt"}
    report = ingest_paths(samples, settings, skip_invalid=True, embedder=embedder)
    # 15 good records, 2 of them the same arXiv paper as another file's; 5 bad records reported with their line.
    assert (report.added, report.duplicates, len(report.problems)) == (13, 2, 5)
    assert all(p.split(":")[1].isdigit() for p in report.problems)
    papers = open_corpus(settings).papers()
    assert papers["1706.03762"].authors[:2] == ("Ashish Vaswani", "Noam Shazeer")
    assert papers["1706.03762"].published == datetime.date(2017, 6, 1)
    assert papers["2401.01234"].url == "https://arxiv.org/abs/2401.01234"


def test_different_papers_with_the_same_generic_title_are_both_kept(tmp_path, embedder):
    settings = load_settings(store=tmp_path / "s")
    src = _jsonl(tmp_path / "g.jsonl", [{"id": "a", "title": "Summary", "abstract": "Malaria vaccines in children."},
                                        {"id": "b", "title": "Summary", "abstract": "Graphene transistors at 5 nm."}])
    report = ingest_paths([src], settings, embedder=embedder)
    assert (report.added, report.duplicates) == (2, 0)


def test_sentence_vectors_are_kept_in_the_store_and_dropped_when_a_paper_changes(tmp_path, embedder, monkeypatch):
    from assistant.service import Assistant

    settings = load_settings(store=tmp_path / "s", extractive=True)
    rows = [{"id": "p1", "title": "Masked image modeling", "abstract": "We mask patches. We reconstruct pixels."},
            {"id": "p2", "title": "Graph contrastive learning", "abstract": "We contrast graph views. Nodes agree."}]
    src = _jsonl(tmp_path / "f.jsonl", rows)
    ingest_paths([src], settings, embedder=embedder)
    first = Assistant(settings, embedder=embedder)
    first.retrieve("how are patches reconstructed?")
    computed = first.library.sentences.get([first.library.papers["p1"]])[0]

    # A new process reads them back from the store: only the question is embedded.
    from assistant.embed import MiniLMEmbedding

    embedded: list[str] = []
    real_embed = MiniLMEmbedding.embed
    monkeypatch.setattr(MiniLMEmbedding, "embed", lambda self, texts: embedded.extend(texts) or real_embed(self, texts))
    second = Assistant(settings, embedder=embedder)
    assert second.retrieve("how are patches reconstructed?")[0].id == "p1"
    assert embedded == ["how are patches reconstructed?"]
    loaded = second.library.sentences.get([second.library.papers["p1"]])[0]
    assert loaded[0] == computed[0] == ["We mask patches.", "We reconstruct pixels."]
    assert abs(loaded[1] - computed[1]).max() < 1e-6

    old_key = second.library.papers["p1"].key
    rows[0]["abstract"] = "We now predict features instead."
    ingest_paths([_jsonl(src, rows)], settings, embedder=embedder)
    store = open_corpus(settings)
    assert store.load_sentences([old_key]) == {}
    p2_key = second.library.papers["p2"].key
    assert list(store.load_sentences([p2_key])) == [p2_key]
    store.delete_papers(["p2"])
    assert store.load_sentences([p2_key]) == {}


def test_an_unusable_sentence_cache_costs_time_not_answers(extractive_assistant, monkeypatch):
    def broken(*args):
        raise StoreError("Store 'x' is read-only")

    a = extractive_assistant
    monkeypatch.setattr(a.store, "load_sentences", broken)
    monkeypatch.setattr(a.store, "save_sentences", broken)
    a.library.sentences.forget(set())
    ans = a.ask("Which attack builds a universal adversarial patch against CLIP-like encoders?")
    assert not ans.refused and ans.sources[0].id == ADVCLIP and ans.citations


def test_store_from_an_earlier_embedder_is_re_embedded_when_written_or_served(tmp_path, embedder):
    import numpy as np

    from assistant.corpus import open_or_seed

    settings = load_settings(store=tmp_path / "s", extractive=True)
    rows = [{"id": "p1", "title": "Masked image modeling", "abstract": "We mask patches. We reconstruct pixels."},
            {"id": "p2", "title": "Graph contrastive learning", "abstract": "We contrast graph views. Nodes agree."}]
    ingest_paths([_jsonl(tmp_path / "a.jsonl", rows)], settings, embedder=embedder)

    def make_old() -> None:  # what an earlier paperchat left: other vectors, another embedder's name, a sentence cache
        store = open_store(settings, MODEL_NAME, DIMENSION, other_embedder=True)
        old = store.collection.get(include=["documents", "metadatas"])
        store.rewrite_vectors(old["ids"], old["documents"], old["metadatas"], np.array([[1.0] + [0.0] * 383] * len(old["ids"])))
        store.save_sentences([("p1@old", "p1", ["We mask patches."], np.ones((1, 384), dtype=np.float32))])
        store.collection.modify(metadata={"embedder": "all-MiniLM-L6-v2 (int8 ONNX)", "dimension": 384})

    def assert_current() -> None:
        store = open_corpus(settings)  # no longer refused
        got = store.collection.get(include=["documents", "embeddings"])
        assert abs(np.asarray(got["embeddings"]) - embedder.embed(got["documents"])).max() < 1e-5
        assert store.load_sentences(["p1@old"]) == {}

    make_old()
    with pytest.raises(StoreError, match="re-embed it"):
        open_corpus(settings)
    report = ingest_paths([_jsonl(tmp_path / "b.jsonl", [{"id": "p3", "title": "Speech recognition",
                                                          "abstract": "We transcribe audio."}])],
                          settings, embedder=embedder)
    assert report.added == 1 and open_corpus(settings).stats() == {"papers": 3, "chunks": 3}
    assert_current()

    make_old()
    assert open_or_seed(settings, None).stats() == {"papers": 3, "chunks": 3}  # what `make run` does
    assert_current()


def test_readme_configuration_table_is_the_generated_one():
    from assistant.settings import settings_table
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, "README's configuration table is stale: paste assistant.settings.settings_table()"


def test_stats_from_the_sqlite_file_agree_with_chromadb(tmp_path, embedder):
    """`paperchat stats` reads counts from Chroma's file (no chromadb import); they must equal Chroma's own,
    also after a removal, and be refused (None) where only chromadb can tell."""
    from assistant.corpus import remove_papers
    from assistant.store import PAPERS_SUFFIX
    from assistant.store.counts import sqlite_stats
    from tests.conftest import DEMO

    settings = load_settings(store=tmp_path / "s")
    assert sqlite_stats(settings, MODEL_NAME, PAPERS_SUFFIX) is None  # no store yet
    ingest_paths([DEMO], settings, embedder=embedder)
    assert sqlite_stats(settings, MODEL_NAME, PAPERS_SUFFIX) == open_corpus(settings).stats() == \
        {"papers": 76, "chunks": open_corpus(settings).count()}
    remove_papers(settings, [ADVCLIP])
    after = sqlite_stats(settings, MODEL_NAME, PAPERS_SUFFIX)
    assert after == open_corpus(settings).stats() and after["papers"] == 75
    assert sqlite_stats(settings, "another embedder", PAPERS_SUFFIX) is None
    assert sqlite_stats(replace(settings, chroma_host="127.0.0.1"), MODEL_NAME, PAPERS_SUFFIX) is None
