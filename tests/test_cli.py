"""The CLI contract, driven as a user would: real processes, real store, and (e2e) the real embedded LLM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.conftest import DEMO, paperchat_cmd

ADVCLIP = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"


def run(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(paperchat_cmd() + list(args), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli") / "chroma"
    run("ingest", str(DEMO), "--store", str(store), "--quiet")
    return store


def test_stats_json(cli_store):
    assert json.loads(run("stats", "--store", str(cli_store), "--json").stdout) == {"papers": 76, "chunks": 152}


def test_retrieve_only_returns_k_ranked_unique_sources(cli_store):
    out = json.loads(run("ask", "universal adversarial patch for CLIP encoders", "--store", str(cli_store),
                         "--retrieve-only", "--k", "7").stdout)
    ids = [s["id"] for s in out["sources"]]
    assert ids[0] == ADVCLIP and len(ids) == len(set(ids)) == 7
    assert all(set(s) == {"id", "title", "score"} for s in out["sources"])


def test_batch_writes_one_json_object_per_line(cli_store, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "Which attack builds a universal adversarial patch against CLIP?"}\n'
                     '{"id": "b", "question": "Which paper proposes optical flow estimation between video frames?"}\n')
    lines = run("ask", "--batch", str(batch), "--store", str(cli_store), "--extractive").stdout.splitlines()
    a, b = (json.loads(line) for line in lines)
    assert a["id"] == "a" and a["citations"][0]["id"] == ADVCLIP and not a["refused"]
    assert b["id"] == "b" and b["refused"] and b["citations"] == []
    assert {"answer", "sources", "kind", "sentences", "extractive", "retrieve_ms", "total_ms"} <= set(a)


def test_bad_batch_line_is_reported_with_file_and_line(cli_store, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "ok?"}\n{"id": "b"}\n')
    proc = run("ask", "--batch", str(batch), "--store", str(cli_store), check=False)
    assert proc.returncode != 0 and f"{batch}:2:" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_input_exits_nonzero_with_file_line_and_store_unchanged(cli_store, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "n1", "title": "A new paper", "abstract": "Text."}\n{"id": "n2", "title": "No abs"}\n')
    proc = run("ingest", str(bad), "--store", str(cli_store), check=False)
    assert proc.returncode != 0 and proc.stderr.startswith(f"{bad}:2:") and "Traceback" not in proc.stderr
    assert json.loads(run("stats", "--store", str(cli_store), "--json").stdout)["papers"] == 76


def test_missing_store_message_says_what_to_run(tmp_path):
    proc = run("ask", "anything", "--store", str(tmp_path / "none"), check=False)
    assert proc.returncode == 1 and "paperchat ingest" in proc.stderr and "Traceback" not in proc.stderr


def test_kill_9_during_ingest_then_rerun_gives_exact_counts(tmp_path):
    rows = [{"id": f"k{i}", "title": f"Paper {i} on topic {i % 7}",
             "abstract": " ".join(f"Sentence {j} of paper {i} about method {i} and data {j}." for j in range(25))}
            for i in range(400)]
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = tmp_path / "chroma"
    proc = subprocess.Popen(paperchat_cmd() + ["ingest", str(src), "--store", str(store)],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    # Wait until at least one batch is written (tqdm reports progress), then kill -9 mid-run.
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline and proc.poll() is None:
        seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
        if "128/400" in seen or "192/400" in seen:
            break
    assert proc.poll() is None, f"ingest finished before it could be killed: {seen[-300:]}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = json.loads(run("stats", "--store", str(store), "--json").stdout)
    assert 0 < partial["papers"] < 400
    run("ingest", str(src), "--store", str(store), "--quiet")
    stats = json.loads(run("stats", "--store", str(store), "--json").stdout)
    chunks_per_paper = stats["chunks"] / 400
    assert stats["papers"] == 400 and chunks_per_paper == int(chunks_per_paper)
    again = run("ingest", str(src), "--store", str(store), "--quiet")
    assert "0 added, 0 updated, 400 unchanged" in again.stderr


@pytest.mark.e2e
def test_e2e_ask_json_with_embedded_llm_cites_advclip(cli_store):
    proc = run("ask", "Which attack builds a universal adversarial patch that fools every downstream task of "
               "CLIP-like image-text encoders?", "--store", str(cli_store), "--json", timeout=600)
    out = json.loads(proc.stdout)
    assert not out["refused"] and not out["extractive"], out["notice"]
    assert [c["id"] for c in out["citations"]] == [ADVCLIP]
    assert "AdvCLIP" in out["answer"] and "[1]" in out["answer"]
    assert out["first_token_ms"] is not None
    supported = [s for s in out["sentences"] if s["supported"]]
    assert supported and all(s["citations"] == [1] for s in supported)


def test_retrieve_only_reports_retrieve_ms_and_first_sentence_time_is_in_answers(cli_store):
    out = json.loads(run("ask", "universal adversarial patch against CLIP", "--store", str(cli_store),
                         "--retrieve-only").stdout)
    assert isinstance(out["retrieve_ms"], float) and out["sources"][0]["id"] == ADVCLIP
    ans = json.loads(run("ask", "Which attack builds a universal adversarial patch against CLIP?", "--store",
                         str(cli_store), "--extractive", "--json").stdout)
    assert ans["first_sentence_ms"] is not None and ans["first_sentence_ms"] <= ans["total_ms"]
    assert all(s["verdict"] in {"supported", "contradicted", "not_enough_info"} for s in ans["sentences"])


def test_batch_conversation_resolves_follow_ups_in_file_order(cli_store, tmp_path):
    batch = tmp_path / "conv.jsonl"
    batch.write_text(
        '{"id": "1", "conversation": "c", "question": "Which attack builds a universal adversarial patch against '
        'CLIP-like encoders?"}\n'
        '{"id": "x", "question": "and which defenses did they test against it?"}\n'
        '{"id": "2", "conversation": "c", "question": "and which defenses did they test against it?"}\n')
    rows = {r["id"]: r for r in map(json.loads, run("ask", "--batch", str(batch), "--store", str(cli_store),
                                                    "--extractive").stdout.splitlines())}
    assert "AdvCLIP" in (rows["2"]["standalone_question"] or "")  # the follow-up knows its conversation
    assert rows["x"]["standalone_question"] is None  # a line without a conversation has no history
    assert rows["2"]["citations"][0]["id"] == ADVCLIP


def test_verify_json_judges_a_claim_against_each_paper_with_the_real_verifier(cli_store):
    claim = "AdvCLIP generates downstream-agnostic adversarial examples from cross-modal pre-trained encoders."
    out = json.loads(run("verify", claim, "--store", str(cli_store), "--json", "--k", "3").stdout)
    assert out["claim"] == claim and len(out["verdicts"]) == 3
    top = out["verdicts"][0]
    assert top["id"] == ADVCLIP and top["label"] == "supported" and top["evidence"]
    assert {v["label"] for v in out["verdicts"]} <= {"supported", "contradicted", "not_enough_info"}
    neg = json.loads(run("verify", "AdvCLIP does not use a generative adversarial network to generate the patch.",
                         "--paper", ADVCLIP, "--store", str(cli_store), "--json").stdout)
    assert [v["id"] for v in neg["verdicts"]] == [ADVCLIP] and neg["verdicts"][0]["label"] != "supported"


def test_verify_batch_and_bad_lines(cli_store, tmp_path):
    good = tmp_path / "claims.jsonl"
    good.write_text(f'{{"id": "a", "claim": "AdvCLIP builds a universal adversarial patch.", '
                    f'"paper_ids": ["{ADVCLIP}"]}}\n')
    (row,) = map(json.loads, run("verify", "--batch", str(good), "--store", str(cli_store)).stdout.splitlines())
    assert row["id"] == "a" and row["verdicts"][0]["id"] == ADVCLIP
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "claim": "x"}\n{"id": "b", "paper_ids": "nope"}\n')
    proc = run("verify", "--batch", str(bad), "--store", str(cli_store), check=False)
    assert proc.returncode != 0 and f"{bad}:2:" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("verify", "a claim", "--paper", "no-such-paper", "--store", str(cli_store), check=False)
    assert proc.returncode != 0 and "no-such-paper" in proc.stderr
