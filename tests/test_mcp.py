"""The MCP tools, through the `mcp` Python client against the real app (real demo store, extractive answers).

An agent connects to Gradio's standard endpoint /gradio_api/mcp/sse, lists the tools and calls them as any MCP
client would; without --mcp / PAPERCHAT_MCP the endpoint does not exist.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import DATA, free_port, paperchat_cmd

LOOKUP = "Which attack builds a universal adversarial patch against CLIP-like encoders?"
ADVCLIP_ID = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"
TOOLS = {"search_papers", "ask", "check_claim"}


def _session(url: str, work):
    """Run `work(session)` in an initialised MCP client session on the app's SSE endpoint; returns its result."""
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    async def run():
        async with sse_client(f"{url}/gradio_api/mcp/sse", timeout=30, sse_read_timeout=120) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    # Its own thread: a session-scoped Playwright (tests/test_ui_browser.py) keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _json(result) -> dict:
    assert not result.isError, result.content
    return json.loads(result.content[0].text)


@pytest.fixture(scope="module")
def mcp_ui(demo_settings, embedder):
    """The app with MCP on, over the demo store, on a free loopback port."""
    from assistant.service import Assistant
    from ui.app import build_app, launch

    settings = replace(demo_settings, mcp=True, port=free_port())
    assistant = Assistant(settings, embedder=embedder)
    app = build_app(assistant)
    launch(app, settings, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{settings.port}"
    app.close()


def test_agent_lists_exactly_the_three_tools_and_gets_cited_answers(mcp_ui):
    async def work(session):
        tools = (await session.list_tools()).tools
        search = await session.call_tool("search_papers", {"query": "universal adversarial patch against CLIP",
                                                            "k": 3})
        answer = await session.call_tool("ask", {"question": LOOKUP})
        claim = await session.call_tool("check_claim", {"claim": "AdvCLIP constructs a universal adversarial patch "
                                                                 "that fools downstream tasks."})
        return tools, search, answer, claim

    tools, search, answer, claim = _session(mcp_ui, work)
    assert {t.name for t in tools} == TOOLS  # the chat's streaming endpoint and the upload are not tools
    by_name = {t.name: t for t in tools}
    assert "cited and checked" in by_name["ask"].description
    assert set(by_name["search_papers"].inputSchema["properties"]) == {"query", "k", "filters"}
    papers = _json(search)["papers"]
    assert len(papers) == 3 and papers[0]["id"] == ADVCLIP_ID, [p["id"] for p in papers]
    reply = _json(answer)
    assert not reply["refused"] and reply["citations"][0]["id"] == ADVCLIP_ID, reply
    assert "[1]" in reply["text"] and reply["sentences"]
    assert all(s["verdict"] == "supported" and s["evidence"] and s["citations"] == [1] for s in reply["sentences"])
    verdicts = {v["id"]: v for v in _json(claim)["verdicts"]}
    assert verdicts[ADVCLIP_ID]["label"] == "supported", verdicts
    assert any("universal adversarial patch" in e for e in verdicts[ADVCLIP_ID]["evidence"])


def test_search_filters_reach_retrieval_and_bad_ones_are_explained(mcp_ui):
    async def work(session):
        none = await session.call_tool("search_papers", {"query": "adversarial patch", "k": 5,
                                                          "filters": {"author": "Nobody Surname-That-Is-Not-There"}})
        bad = await session.call_tool("search_papers", {"query": "adversarial patch", "filters": {"year": "2023"}})
        return none, bad

    none, bad = _session(mcp_ui, work)
    assert _json(none)["papers"] == []
    assert bad.isError and "unknown filter(s) year" in bad.content[0].text, bad.content


def test_without_mcp_the_endpoint_is_absent(extractive_assistant, serve_ui):
    import httpx

    assert not extractive_assistant.settings.mcp
    ui = serve_ui(extractive_assistant)
    with httpx.Client(timeout=30) as http:
        for path in ("/gradio_api/mcp/sse", "/gradio_api/mcp/schema", "/gradio_api/mcp/"):
            assert http.get(ui.url + path).status_code == 404, path
        info = http.get(ui.url + "/gradio_api/info").json()
    assert info["named_endpoints"] == {}  # nothing is documented as an API (the chat's /ask stays callable)


def test_mcp_and_login_together_are_refused(extractive_assistant):
    from assistant.errors import ConfigError
    from ui.app import build_app, launch

    settings = replace(extractive_assistant.settings, mcp=True, auth="user:pw", port=free_port())
    with pytest.raises(ConfigError, match="MCP tools have no login"):
        launch(build_app(extractive_assistant), settings, prevent_thread_lock=True, quiet=True)


def test_paperchat_serve_mcp_serves_the_tools_on_loopback(tmp_path):
    port = free_port()
    out_path = tmp_path / "stdout.txt"
    env = dict(os.environ, PAPERCHAT_EXTRACTIVE="true", PYTHONUNBUFFERED="1")
    with out_path.open("wb") as out:
        proc = subprocess.Popen(paperchat_cmd() + ["serve", "--mcp", "--store", str(tmp_path / "chroma"), "--port",
                                                   str(port), "--demo", str(DATA / "sample.jsonl")],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        tools = _wait_for_tools(url, proc, out_path)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert f"MCP tools at {url}/gradio_api/mcp/sse" in out_path.read_text()
    assert tools == TOOLS


def _wait_for_tools(url: str, proc: subprocess.Popen, log: Path) -> set[str]:
    """The tool names, once the served process listens (up to 90 s for the start and the demo ingest)."""
    async def names(session):
        return {t.name for t in (await session.list_tools()).tools}

    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, log.read_text()[-2000:]
        if "open http://" in log.read_text():
            try:
                return _session(url, names)
            except Exception:  # the line is printed just before the server starts listening
                if time.monotonic() > deadline:
                    raise
        elif time.monotonic() > deadline:
            raise AssertionError(log.read_text()[-2000:])
        time.sleep(0.5)
