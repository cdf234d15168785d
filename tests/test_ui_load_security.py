"""The web UI under load, behind a login, against hostile uploads and with a secret key — through its HTTP API.

Every test starts the real app in-process on a free loopback port and talks to it with gradio_client or plain
HTTP, as a script or a browser would. Answers are extractive (no LLM) so the file runs in about a minute; the
latencies it sees are recorded in test-artifacts/ui-load.json, never asserted: the timed benchmark (latency,
peak RSS) is scripts/bench_load.py.
"""

from __future__ import annotations

import html
import json
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import SHARED, free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DATA = Path(__file__).resolve().parent / "data"
QUESTIONS = SHARED / "eval" / "dev_questions.jsonl"
LOOKUP = "Which attack builds a universal adversarial patch against CLIP-like encoders?"
ADVCLIP = "AdvCLIP: Downstream-agnostic Adversarial Examples in Multimodal Contrastive Learning"
USERS = 8
SECRET = "sk-test-SECRET-123"


def _client(url: str, **kwargs):
    from gradio_client import Client

    return Client(url + "/", download_files=False, verbose=False, **kwargs)


def _text(message: dict) -> str:
    """A chat message's text (Gradio 6 sends content as a list of typed parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))


def _file_path(output) -> str:
    """The local path of a file output (a path, FileData, or a component update whose value is one)."""
    if isinstance(output, dict):
        output = output.get("value", output)
    return output["path"] if isinstance(output, dict) else output


class _Occupancy:
    """Counts the answers an Assistant is producing right now, and the most seen at once."""

    def __init__(self, assistant, monkeypatch):
        self._lock = threading.Lock()
        self.running = self.peak = self.calls = 0
        stream = assistant.stream

        def counted(*args, **kwargs):
            with self._lock:
                self.running += 1
                self.calls += 1
                self.peak = max(self.peak, self.running)
            try:
                yield from stream(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        monkeypatch.setattr(assistant, "stream", counted)


def _record(**numbers) -> None:
    """Merge measured numbers into test-artifacts/ui-load.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "ui-load.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(numbers)
    path.write_text(json.dumps(data, indent=2) + "\n")


def _call_raw(http, url: str, api: str, data: list) -> tuple[str, object]:
    """POST /gradio_api/call/<api>, then read its event stream; returns (last event name, its data)."""
    posted = http.post(f"{url}/gradio_api/call/{api}", json={"data": data})
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    event, payload = "", None
    with http.stream("GET", f"{url}/gradio_api/call/{api}/{event_id}", timeout=60) as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                raw = line.split(":", 1)[1].strip()
                payload = json.loads(raw) if raw and raw != "null" else None
            if event in ("complete", "error") and payload is not None:
                break
    return event, payload


def _answerable_lookups(assistant, n: int) -> list[dict]:
    """n dev lookups with distinct gold papers that a single user gets cited right (their answers are the baseline)."""
    chosen, golds = [], set()
    for line in QUESTIONS.read_text().splitlines():
        q = json.loads(line)
        if q["kind"] != "lookup" or len(q["gold_titles"]) != 1 or q["gold_titles"][0] in golds:
            continue
        answer = assistant.ask(q["question"], extractive=True)
        cited = [c.title for c in answer.citations]
        if cited == q["gold_titles"]:
            chosen.append(dict(q, baseline=answer.text))
            golds.add(q["gold_titles"][0])
        if len(chosen) == n:
            return chosen
    raise AssertionError(f"only {len(chosen)} dev lookups are answered right by one user; need {n}")


# -- load ----------------------------------------------------------------------------------------------------------
def test_eight_concurrent_users_get_their_own_answers_within_the_queue_limit(extractive_assistant, serve_ui,
                                                                             monkeypatch):
    from ui.app import ASSISTANT_CONCURRENCY
    from ui.render import esc_md

    questions = _answerable_lookups(extractive_assistant, USERS)  # also warms the sentence cache
    occupancy = _Occupancy(extractive_assistant, monkeypatch)
    ui = serve_ui(extractive_assistant)
    (ask,) = [fn for fn in ui.app.fns.values() if fn.api_name == "ask"]
    assert ask.concurrency_limit == ASSISTANT_CONCURRENCY
    clients = [_client(ui.url) for _ in range(USERS)]  # one client = one Gradio session
    start = threading.Barrier(USERS)

    def user(i: int):
        start.wait()
        t0 = time.perf_counter()
        result = clients[i].predict(questions[i]["question"], [], True, api_name="/ask")
        return t0, time.perf_counter(), result

    with ThreadPoolExecutor(USERS) as pool:
        runs = list(pool.map(user, range(USERS)))

    golds = [q["gold_titles"][0] for q in questions]
    for i, (_, _, (messages, _box, panel, _md, _bib)) in enumerate(runs):
        asked = [_text(m) for m in messages if m["role"] == "user"]
        assert asked == [esc_md(questions[i]["question"])], f"user {i} sees another session's messages"
        reply = _text(messages[-1])
        assert "**References**" in reply, reply
        assert esc_md(golds[i]) in reply, f"user {i}: {golds[i]!r} not cited in {reply[:300]!r}"
        others = [g for j, g in enumerate(golds) if j != i and esc_md(g) in reply]
        assert others == [], f"user {i}'s answer cites other users' papers: {others}"
        assert html.escape(golds[i], quote=False) in panel
    # The queue let every request in at once but ran at most ASSISTANT_CONCURRENCY answers at a time.
    assert occupancy.calls == USERS and occupancy.running == 0
    assert 1 <= occupancy.peak <= ASSISTANT_CONCURRENCY
    events = sorted([(t0, 1) for t0, _, _ in runs] + [(t1, -1) for _, t1, _ in runs])
    in_flight = peak_in_flight = 0
    for _, step in events:
        in_flight += step
        peak_in_flight = max(peak_in_flight, in_flight)
    assert peak_in_flight >= 2, "the requests never overlapped, so the queue limit was not exercised"
    latencies = sorted(t1 - t0 for t0, t1, _ in runs)
    _record(load_users=USERS, load_peak_requests_in_flight=peak_in_flight, load_peak_handlers_running=occupancy.peak,
            load_latency_s={"min": round(latencies[0], 3), "median": round(latencies[USERS // 2], 3),
                            "max": round(latencies[-1], 3)})
    print(f"{USERS} users: latency {latencies[0]:.2f}-{latencies[-1]:.2f} s, {peak_in_flight} in flight, "
          f"{occupancy.peak} running")


# -- auth ----------------------------------------------------------------------------------------------------------
def test_login_required_for_the_page_the_api_and_uploads(extractive_assistant, serve_ui, tmp_path):
    import httpx
    from gradio_client.exceptions import AuthenticationError

    ui = serve_ui(extractive_assistant, auth="user:pw")
    paper = tmp_path / "one.jsonl"
    paper.write_text((DATA / "sample.jsonl").read_text().splitlines()[0] + "\n")
    before = extractive_assistant.store.count()
    with httpx.Client(timeout=30) as anonymous:
        call = anonymous.post(f"{ui.url}/gradio_api/call/ask", json={"data": [LOOKUP, [], True]})
        assert call.status_code == 401, call.text
        for path in ("/config", "/gradio_api/info"):
            assert anonymous.get(ui.url + path).status_code == 401, path
        with paper.open("rb") as f:
            upload = anonymous.post(f"{ui.url}/gradio_api/upload", files={"files": f})
        assert upload.status_code == 401, upload.text
        assert anonymous.post(f"{ui.url}/login", data={"username": "user", "password": "nope"}).status_code >= 400
        call = anonymous.post(f"{ui.url}/gradio_api/call/ask", json={"data": [LOOKUP, [], True]})
        assert call.status_code == 401, "a failed login must not open the API"
    with pytest.raises(AuthenticationError):
        _client(ui.url)
    with pytest.raises(ValueError, match="Could not login"):
        _client(ui.url, auth=("user", "wrong"))
    assert extractive_assistant.store.count() == before
    # The same calls with the password.
    messages = _client(ui.url, auth=("user", "pw")).predict(LOOKUP, [], True, api_name="/ask")[0]
    assert ADVCLIP.split(":")[0] in _text(messages[-1])
    with httpx.Client(timeout=30) as user:
        assert user.post(f"{ui.url}/login", data={"username": "user", "password": "pw"}).status_code == 200
        event, data = _call_raw(user, ui.url, "ask", [LOOKUP, [], True])
        assert event == "complete", data
        assert ADVCLIP.split(":")[0] in _text(data[0][-1])


# -- uploads -------------------------------------------------------------------------------------------------------
@pytest.fixture
def upload_ui(tmp_path, embedder, serve_ui):
    """The app over its own small store (the three sample papers), so uploads cannot disturb the demo store."""
    from assistant.corpus import ingest_paths
    from assistant.service import Assistant
    from assistant.settings import load_settings

    settings = load_settings(store=tmp_path / "chroma", extractive=True)
    ingest_paths([DATA / "sample.jsonl"], settings, embedder=embedder)
    return serve_ui(Assistant(settings, embedder=embedder))


def _store_size(ui) -> tuple[int, int]:
    return ui.assistant.store.count(), len(ui.assistant)


def _paper(tmp_path: Path, name: str) -> Path:
    record = {"id": f"upload-{uuid.uuid4().hex[:8]}", "title": "Lantern Moths: Phototaxis Priors for Night Scenes",
              "abstract": "Night-time scene understanding lacks labels. We model moth phototaxis as a prior on light "
                          "sources and show it improves night-time segmentation on two benchmarks.",
              "authors": ["Nora Night"], "published": "2024-02-02"}
    path = tmp_path / name
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def test_upload_accepts_listed_types_and_refuses_others(upload_ui, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from ui.app import UPLOAD_TYPES

    (files,) = [b for b in upload_ui.app.blocks.values() if getattr(b, "elem_id", None) == "upload"]
    assert sorted(files.file_types) == sorted(UPLOAD_TYPES) == sorted(".txt .json .jsonl .csv .tsv .bib .xml".split())
    client = _client(upload_ui.url)
    before = _store_size(upload_ui)
    for name in ("paper.py", "paper.jsonl.exe", "paper.pdf", "paper.html", "paper"):
        path = _paper(tmp_path, name)
        with pytest.raises(AppError, match=r"Invalid file type.*\.jsonl"):
            client.predict([handle_file(str(path))], False, "", api_name="/add_files")
        assert _store_size(upload_ui) == before, name
    # The same content with a listed extension goes in.
    note = client.predict([handle_file(str(_paper(tmp_path, "paper.jsonl")))], False, "", api_name="/add_files")[1]
    assert "1 added" in note, note
    assert _store_size(upload_ui)[1] == before[1] + 1


def test_oversize_upload_is_refused(upload_ui, tmp_path):
    import httpx
    from gradio_client import handle_file

    from ui.app import MAX_FILE_SIZE

    limit = upload_ui.app.max_file_size
    assert limit == 100 * 1024 * 1024 and MAX_FILE_SIZE == "100mb"
    big = tmp_path / "big.jsonl"
    with big.open("wb") as f:  # sparse: no disk used, reads as zeros
        f.truncate(limit + 1)
    before = _store_size(upload_ui)
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        _client(upload_ui.url).predict([handle_file(str(big))], False, "", api_name="/add_files")
    # A client that does not check first is cut off by the server.
    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as http, big.open("rb") as f:
        try:
            response = http.post(f"{upload_ui.url}/gradio_api/upload", files={"files": f})
            status, text = response.status_code, response.text
        except httpx.TransportError as exc:  # the server may close before the body is fully sent
            status, text = None, repr(exc)
    _record(oversize_upload_refused_s=round(time.perf_counter() - t0, 2))
    assert status in (413, None), (status, text)
    if status == 413:
        assert "File size exceeded maximum allowed size" in text
    assert _store_size(upload_ui) == before


def test_crafted_payloads_cannot_make_the_ingest_read_server_files(upload_ui, tmp_path):
    import httpx

    cache = Path(upload_ui.app.GRADIO_CACHE)
    target = SHARED / "eval" / "papers.jsonl"  # a real, parseable paper file outside the upload cache
    assert target.exists()
    link_dir = cache / f"paperchat-test-{uuid.uuid4().hex}"
    link_dir.mkdir(parents=True)
    (link_dir / "papers.jsonl").symlink_to(target)
    relative = os.path.relpath(target, Path.cwd())
    before = _store_size(upload_ui)
    try:
        with httpx.Client(timeout=30) as http:
            for path in (str(target), relative, f"{cache}/../..{target}", str(link_dir / "papers.jsonl"),
                         "/etc/passwd"):
                file_data = {"path": path, "meta": {"_type": "gradio.FileData"}}
                event, data = _call_raw(http, upload_ui.url, "add_files", [[file_data], False, ""])
                assert event == "error", (path, data)
                assert "not uploaded by a user" in str(data), (path, data)
                assert _store_size(upload_ui) == before, path
            for payload in ([target.as_posix()], [{"path": str(target)}], [{"path": str(target), "url": str(target)}]):
                event, data = _call_raw(http, upload_ui.url, "add_files", [payload, False, ""])
                assert event == "error", (payload, data)
                assert _store_size(upload_ui) == before, payload
    finally:
        (link_dir / "papers.jsonl").unlink()
        link_dir.rmdir()


def test_ingest_handler_reads_only_supported_files_in_the_upload_cache(tmp_path):
    """The handler's own check, for payloads that got past Gradio's (direct calls, a changed default)."""
    import gradio as gr

    from ui.corpus import uploaded

    cache = tmp_path / "gradio"
    (cache / "abc").mkdir(parents=True)
    good = cache / "abc" / "papers.jsonl"
    good.write_text("{}\n")
    outside = tmp_path / "outside.jsonl"
    outside.write_text("{}\n")
    (cache / "abc" / "link.jsonl").symlink_to(outside)
    assert uploaded([str(good)], str(cache)) == [good]
    for path in (outside, cache / "abc" / ".." / ".." / "outside.jsonl", cache / "abc" / "link.jsonl",
                 cache / "abc" / "script.py", Path("/etc/passwd")):
        with pytest.raises(gr.Error):
            uploaded([str(path)], str(cache))


def test_claim_check_and_verdict_marks_keep_uploaded_text_inert():
    """Titles, abstracts and evidence come from uploaded files: the claim table and the marks' titles escape them."""
    from assistant.records import ClaimCheck, Sentence, Source, StoredPaper, Verdict
    from ui.claims import claim_html
    from ui.render import sentence_markdown

    hostile = '<img src=x onerror=alert(1)>" onmouseover="alert(2)'
    paper = StoredPaper(id="x<script>", title=hostile, abstract=hostile, url="javascript:alert(3)")
    shown = claim_html(ClaimCheck(hostile, ((Source(paper, 1.0), Verdict("contradicted", 0.1, (hostile,))),)))
    mark = sentence_markdown(Sentence(hostile, (1,), False, hostile, 0.1, "contradicted"), turn=1)
    for text in (shown, mark):
        tags = _tags(text)
        assert {t for t, _ in tags} <= {"div", "p", "table", "thead", "tbody", "tr", "th", "td", "span"}, tags
        assert not [a for _, attrs in tags for a, v in attrs if a.startswith("on") or "javascript:" in (v or "")]
    assert 'class="pc-v pc-v-contradicted"' in mark and "“&lt;img src=x onerror=alert(1)&gt;&quot;" in mark


def _tags(text: str) -> list[tuple[str, list]]:
    """(tag, attributes) of every element a browser would build from `text`."""
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(text)
    return found


# -- secrets -------------------------------------------------------------------------------------------------------
def test_api_key_never_reaches_logs_output_or_replies(extractive_assistant, demo_settings, serve_ui, caplog, capfd):
    """A remote LLM that cannot be reached: the answer falls back, and the key shows up nowhere."""
    import httpx

    from assistant.service import Assistant

    settings = replace(demo_settings, extractive=False, openai_api_key=SECRET, llm_timeout=5,
                       openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    assistant = Assistant(settings, store=extractive_assistant.store, embedder=extractive_assistant.embedder)
    caplog.set_level(logging.DEBUG)
    ui = serve_ui(assistant)
    result = _client(ui.url).predict(LOOKUP, [], False, api_name="/ask")
    messages, _box, panel, md_file, bib_file = result
    reply = _text(messages[-1])
    assert "cannot reach" in reply and "Extractive answer (fallback)" in reply, reply  # the LLM was tried
    assert ADVCLIP.split(":")[0] in reply
    with httpx.Client(timeout=30) as http:
        config = http.get(ui.url + "/config").text
        assert "127.0.0.1" in config  # the status line names the endpoint…
    exports = "".join(Path(_file_path(f)).read_text() for f in (md_file, bib_file))
    out, err = capfd.readouterr()
    seen = {"reply": json.dumps(result, ensure_ascii=False), "config": config, "exports": exports,
            "log": caplog.text, "log records": " ".join(str(r.args) for r in caplog.records), "stdout": out,
            "stderr": err}
    assert caplog.records, "nothing was logged at DEBUG, so the check would prove nothing"
    leaks = [where for where, text in seen.items() if SECRET in text or SECRET[3:] in text]
    assert leaks == []  # …but never the key


def test_api_key_never_reaches_the_served_process_output(tmp_path):
    """The same through `paperchat -v serve` (its own logging set-up), reading the process' stdout and stderr."""
    import subprocess

    from tests.conftest import paperchat_cmd

    port = free_port()
    env = dict(os.environ, OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
               PAPERCHAT_LLM_TIMEOUT="5", PAPERCHAT_EXTRACTIVE="false", PYTHONUNBUFFERED="1")
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(paperchat_cmd() + ["-v", "serve", "--store", str(tmp_path / "chroma"), "--port",
                                                   str(port), "--demo", str(DATA / "sample.jsonl")],
                                stdout=out, stderr=err, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while "open http://" not in out_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err_path.read_text()[-2000:]
            time.sleep(0.2)
        client = None
        while client is None and time.monotonic() < deadline:
            try:
                client = _client(f"http://127.0.0.1:{port}")
            except Exception:  # the line is printed just before the server starts listening
                time.sleep(0.2)
        result = client.predict("Summarise the Graph Nets for Molecules paper.", [], False, api_name="/ask")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    reply = _text(result[0][-1])
    assert "cannot reach" in reply and "Graph Nets for Molecules" in reply, reply
    out, err = out_path.read_text(), err_path.read_text()
    assert "LLM failed: cannot reach" in err, err[-2000:]  # the server's log really is in what we read
    leaks = [where for where, text in {"reply": json.dumps(result, ensure_ascii=False), "stdout": out,
                                       "stderr": err}.items() if SECRET in text or SECRET[3:] in text]
    assert leaks == []
