"""Faults: a dead embedded server, failing remote endpoints, bad keys, incompatible stores — real processes."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.errors import StoreError

QUESTION = "Which attack builds a universal adversarial patch against CLIP-like encoders?"
ADVCLIP = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"


class _Stub(BaseHTTPRequestHandler):
    """A local OpenAI-compatible endpoint that answers every request with a fixed HTTP status."""

    status = 500
    delay = 0.0
    hits: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server API)
        type(self).hits.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        if self.status == 200:  # a "successful" stream whose events are not JSON
            body = b"data: {this is not json\n\ndata: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = json.dumps({"error": {"message": "stub failure", "type": "server_error"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_endpoint():
    servers = []

    def start(status: int, delay: float = 0.0) -> tuple[str, type]:
        handler = type("Handler", (_Stub,), {"status": status, "hits": [], "delay": delay})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/v1", handler

    yield start
    for s in servers:
        s.shutdown()


@pytest.mark.parametrize("status", [500, 429])
def test_remote_errors_are_retried_then_answer_extractively(extractive_assistant, demo_settings, stub_endpoint,
                                                            status):
    from assistant.service import Assistant

    url, handler = stub_endpoint(status)
    settings = replace(demo_settings, extractive=False, openai_base_url=url, openai_api_key="sk-test-SECRET",
                       llm_timeout=10)
    a = Assistant(settings, store=extractive_assistant.store, embedder=extractive_assistant.embedder)
    ans = a.ask(QUESTION)
    assert len(handler.hits) == 3  # the first try and the openai client's 2 retries with backoff
    assert ans.extractive and not ans.refused and [c.id for c in ans.citations] == [ADVCLIP]
    assert f"HTTP {status}" in ans.notice


def test_timeout_falls_back_with_a_message(extractive_assistant, demo_settings, stub_endpoint):
    from assistant.service import Assistant

    url, handler = stub_endpoint(500, delay=3.0)
    settings = replace(demo_settings, extractive=False, openai_base_url=url, llm_timeout=1)
    a = Assistant(settings, store=extractive_assistant.store, embedder=extractive_assistant.embedder)
    ans = a.ask(QUESTION)
    assert ans.extractive and [c.id for c in ans.citations] == [ADVCLIP]
    assert "did not answer within 1 s" in ans.notice


def test_malformed_stream_falls_back(extractive_assistant, demo_settings, stub_endpoint):
    from assistant.service import Assistant

    url, handler = stub_endpoint(200)
    settings = replace(demo_settings, extractive=False, openai_base_url=url, llm_timeout=5)
    a = Assistant(settings, store=extractive_assistant.store, embedder=extractive_assistant.embedder)
    ans = a.ask(QUESTION)
    assert handler.hits and ans.extractive and not ans.refused
    assert [c.id for c in ans.citations] == [ADVCLIP] and "extractive" in ans.notice


def test_bad_key_names_openai_api_key_and_never_shows_it(extractive_assistant, demo_settings, stub_endpoint,
                                                         caplog):
    from assistant.service import Assistant

    url, _ = stub_endpoint(401)
    settings = replace(demo_settings, extractive=False, openai_base_url=url, openai_api_key="sk-test-SECRET")
    a = Assistant(settings, store=extractive_assistant.store, embedder=extractive_assistant.embedder)
    with caplog.at_level(logging.DEBUG):
        ans = a.ask(QUESTION)
    assert "OPENAI_API_KEY" in ans.notice and ans.extractive
    assert "sk-test-SECRET" not in ans.notice and "sk-test-SECRET" not in caplog.text


def test_connection_refused_falls_back(extractive_assistant, demo_settings):
    from assistant.llm import _free_port
    from assistant.service import Assistant

    settings = replace(demo_settings, extractive=False, openai_base_url=f"http://127.0.0.1:{_free_port()}/v1",
                       llm_timeout=5)
    a = Assistant(settings, store=extractive_assistant.store, embedder=extractive_assistant.embedder)
    ans = a.ask(QUESTION)
    assert ans.extractive and "cannot reach" in ans.notice


@pytest.mark.e2e
def test_embedded_server_killed_then_restarted_for_next_question(llm_assistant):
    first = llm_assistant.ask(QUESTION)
    assert not first.extractive, first.notice
    server = llm_assistant.llm().local
    server.proc.kill()
    server.proc.wait()
    second = llm_assistant.ask(QUESTION)
    # The dead server is noticed and restarted on demand, or (if it died mid-answer) we fall back extractively.
    assert [c.id for c in second.citations] == [ADVCLIP]
    assert server.alive()
    third = llm_assistant.ask(QUESTION)
    assert not third.extractive and [c.id for c in third.citations] == [ADVCLIP]


def test_store_from_another_embedder_is_refused_with_advice(tmp_path):
    import chromadb

    from assistant.corpus import open_corpus
    from assistant.settings import load_settings

    client = chromadb.PersistentClient(path=str(tmp_path / "s"))
    col = client.create_collection("papers", metadata={"embedder": "text-embedding-3-small", "dimension": 1536})
    col.add(ids=["x"], embeddings=[[0.0] * 1536], documents=["x"], metadatas=[{"paper_id": "x"}])
    with pytest.raises(StoreError, match="new --store"):
        open_corpus(load_settings(store=tmp_path / "s"))
