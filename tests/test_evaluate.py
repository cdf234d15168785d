"""Evaluation: hand-computed metric values, then `run_eval` on tiny real stores (no LLM)."""

from __future__ import annotations

import json
import math

import pytest

from assistant.cli import build_parser
from assistant.errors import ParseError
from assistant.evaluate import run_eval
from assistant.evaluation.beir import beir_store, load_qrels
from assistant.evaluation.metrics import mrr, ndcg_at_k, percentile, recall_at_k, title_key
from assistant.evaluation.questions import load_questions
from assistant.evaluation.report import compare_rows
from assistant.settings import load_settings

# --- pure metrics -------------------------------------------------------------------------------------------------


def test_ndcg_two_relevant_one_missed_rank():
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3) = 1.63093
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["a", "x", "b"], {"a", "b"}, 10) == pytest.approx(0.919720, abs=1e-6)


def test_ndcg_single_relevant_at_rank_two():
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))


def test_ndcg_ideal_is_capped_at_k():
    # Three relevant documents but k=2: two hits in two slots is a perfect ranking.
    assert ndcg_at_k(["a", "b", "c"], {"a", "b", "c"}, 2) == 1.0


def test_ndcg_cuts_at_k_and_counts_repeats_once():
    assert ndcg_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    assert ndcg_at_k(["a", "a", "b"], {"a", "b"}, 10) == 1.0
    assert ndcg_at_k(["a"], set(), 10) == 0.0


def test_recall_at_k():
    ranked = ["x", "a", "y", "b"]
    assert recall_at_k(ranked, {"a", "b", "c"}, 1) == 0.0
    assert recall_at_k(ranked, {"a", "b", "c"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, {"a", "b", "c"}, 4) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, {"a"}, 100) == 1.0


def test_mrr():
    assert mrr(["x", "y", "a"], {"a"}) == pytest.approx(1 / 3)
    assert mrr(["x", "y", "a"], {"a"}, k=2) == 0.0
    assert mrr(["a", "b"], {"b", "a"}) == 1.0
    assert mrr(["x"], {"a"}) == 0.0


def test_percentile_and_title_key():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([], 95) is None
    assert title_key("Café: Self-Supervised  Learning!") == "cafeselfsupervisedlearning"


def test_compare_rows_show_old_new_and_difference():
    old = {"metrics": {"beir": {"nDCG@10": 0.60, "queries": 300}}}
    new = {"metrics": {"beir": {"nDCG@10": 0.65, "queries": 300, "R@100": 0.9}}}
    assert compare_rows(old, new) == [["beir.nDCG@10", "0.600", "0.650", "+0.050"], ["beir.queries", "300", "300", "+0"],
                                      ["beir.R@100", "—", "0.900", "—"]]


def test_question_file_problems_name_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "ok?", "gold_titles": ["T"]}\n{broken\n{"id": "c", "gold_titles": []}\n')
    with pytest.raises(ParseError) as err:
        load_questions(path)
    assert f"{path}:2:" in str(err.value) and f"{path}:3:" in str(err.value)


def test_qrels_keep_only_positive_judgements(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n2\td3\t0\n")
    assert load_qrels(path) == {"1": {"d1"}}


# --- run_eval on tiny stores ------------------------------------------------------------------------------------

PAPERS = [
    {"id": "p-sketch", "title": "Semi-Supervised Sketch Retrieval with Unpaired Photos",
     "abstract": "Fine-grained sketch based image retrieval needs paired sketches and photos. We generate pseudo "
                 "sketches for unlabelled photos and train the retrieval model jointly with the generator."},
    {"id": "p-speech", "title": "Low-Resource Speech Recognition by Cross-Lingual Transfer",
     "abstract": "Automatic speech recognition for languages with little transcribed audio benefits from acoustic "
                 "models pretrained on many high-resource languages. We fine-tune with only ten hours of speech."},
    {"id": "p-protein", "title": "Protein Structure Prediction with Geometric Transformers",
     "abstract": "Predicting the three-dimensional structure of a protein from its amino-acid sequence is a central "
                 "problem in biology. Our geometric transformer attends over residue pairs and predicts distances."},
    {"id": "p-traffic", "title": "Graph Neural Networks for Urban Traffic Forecasting",
     "abstract": "Traffic speed on road networks depends on neighbouring roads. We model sensors as a graph and "
                 "forecast speeds an hour ahead with a spatio-temporal graph neural network."},
]


def _args(*argv: str):
    return build_parser().parse_args(["eval", *argv])


def test_run_eval_on_titles_finds_each_paper_first(tmp_path, capsys, embedder):
    from assistant.corpus import ingest_paths

    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    settings = load_settings(store=tmp_path / "store", extractive=True)
    ingest_paths([corpus], settings, embedder=embedder)
    questions = tmp_path / "q.jsonl"
    rows = [{"id": f"t{i}", "question": p["title"], "kind": "lookup", "gold_titles": [p["title"]]}
            for i, p in enumerate(PAPERS[:3])]
    rows.append({"id": "u1", "question": "What licence does the cooking-recipe dataset use?", "kind": "unanswerable",
                 "gold_titles": []})
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report_path = tmp_path / "report.json"

    assert run_eval(_args("--questions", str(questions), "--answers", "--extractive", "--report", str(report_path)),
                    settings) == 0
    report = json.loads(report_path.read_text())
    retrieval = report["metrics"]["questions"]["retrieval"]
    assert retrieval["overall"]["n"] == 3  # the unanswerable question has no gold to rank
    assert retrieval["overall"]["R@1"] == retrieval["overall"]["R@5"] == retrieval["overall"]["nDCG@10"] == 1.0
    answers = report["metrics"]["questions"]["answers"]["overall"]
    assert answers["false_refusals"] == 0 and answers["citation_recall_micro"] == 1.0
    assert answers["refusal_rate_unanswerable"] == 1.0
    assert answers["first_token_ms_mean"] is None  # extractive: no LLM, no first token
    assert [d["id"] for d in report["details"]["questions"]] == ["t0", "t1", "t2", "u1"]
    out = capsys.readouterr().out
    assert "nDCG@10" in out and "false refusals" in out

    again = tmp_path / "again.json"
    assert run_eval(_args("--questions", str(questions), "--limit", "2", "--report", str(again),
                          "--compare", str(report_path)), settings) == 0
    assert json.loads(again.read_text())["metrics"]["questions"]["retrieval"]["overall"]["n"] == 2
    assert "questions.retrieval.overall.n  " in capsys.readouterr().out


def test_run_eval_beir_scores_and_caches_every_document(tmp_path, capsys):
    folder = tmp_path / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": p["title"], "text": p["abstract"], "metadata": {}} for i, p in enumerate(PAPERS)]
    # Two documents share a generic title, as in SciFact ("Summary" x3): BEIR counts both.
    docs.append({"_id": "d9", "title": "Summary", "text": "Bees communicate the location of flowers by dancing."})
    docs.append({"_id": "d10", "title": "Summary", "text": "Glaciers retreat faster when summers are warmer."})
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    queries = [{"_id": "q1", "text": "speech recognition for languages with little audio"},
               {"_id": "q2", "text": "why are glaciers retreating faster"}]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td10\t1\n")
    (folder / "reference_scores.json").write_text(json.dumps(
        {"scores": [{"system": "Some reference", "ndcg_at_10": 0.5, "recall_at_100": 0.8}]}))
    settings = load_settings(store=tmp_path / "unused", cache_dir=tmp_path / "cache")
    report_path = tmp_path / "beir.json"

    assert run_eval(_args("--beir", str(folder), "--report", str(report_path)), settings) == 0
    metrics = json.loads(report_path.read_text())["metrics"]["beir"]
    assert metrics["documents"] == 6 and metrics["queries"] == 2
    for system in ("hybrid", "assistant"):
        assert metrics[system]["nDCG@10"] == 1.0 and metrics[system]["R@100"] == 1.0
        assert metrics[system]["queries_per_s"] > 0
    out = capsys.readouterr().out
    assert "Retriever.search" in out and "Assistant.retrieve" in out and "Some reference" in out

    store_settings, ids = beir_store(folder / "corpus.jsonl", settings)
    assert sorted(ids.values()) == sorted(d["_id"] for d in docs)
    assert store_settings.store.parent.parent == tmp_path / "cache" / "beir"
    marker = store_settings.store.parent / "ingested.json"
    assert json.loads(marker.read_text())["resumed"] is False

    # A cache built by another chunker version is caught up in place, not trusted.
    marker.write_text(json.dumps(dict(json.loads(marker.read_text()), chunker="0")))
    _, again = beir_store(folder / "corpus.jsonl", settings)
    assert again == ids and json.loads(marker.read_text())["resumed"] is True
