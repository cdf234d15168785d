"""Shared fixtures: a real Chroma store of the demo corpus, built once per test session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assistant import offline

offline.apply()  # the offline environment before any third-party import, as the entry points do

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "daily-papers.txt"
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def embedder():
    """The real offline MiniLM embedder."""
    from assistant.embed import MiniLMEmbedding

    return MiniLMEmbedding()


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory, embedder):
    """Settings pointing at a store holding the 76 demo papers (ingested once)."""
    from assistant.corpus import ingest_paths
    from assistant.settings import load_settings

    store = tmp_path_factory.mktemp("demo-store") / "chroma"
    settings = load_settings(store=store, extractive=True)
    report = ingest_paths([DEMO], settings, embedder=embedder)
    assert report.added == 76
    return settings


@pytest.fixture(scope="session")
def extractive_assistant(demo_settings, embedder):
    """An Assistant over the demo store that answers without an LLM."""
    from assistant.service import Assistant

    return Assistant(demo_settings, embedder=embedder)


@pytest.fixture(scope="session")
def llm_assistant(demo_settings, embedder):
    """An Assistant over the demo store using the real embedded LLM (llama.cpp server, started once)."""
    from dataclasses import replace

    from assistant.service import Assistant

    settings = replace(demo_settings, extractive=False)
    a = Assistant(settings, embedder=embedder)
    yield a
    if a._llm is not None:
        a._llm.close()


@pytest.fixture(scope="session")
def demo_papers() -> dict[str, dict]:
    """title -> record, from the shared parsed copy of the demo page."""
    path = SHARED / "eval" / "papers.jsonl"
    return {json.loads(line)["title"]: json.loads(line) for line in path.read_text().splitlines() if line.strip()}


def paperchat_cmd() -> list[str]:
    """The installed CLI (the venv's console script)."""
    exe = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "paperchat"
    return [str(exe)] if exe.exists() else ["paperchat"]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve_ui():
    """Serve the web UI around an Assistant, in-process on a free loopback port; the apps are closed afterwards.

    Call it as serve_ui(assistant, auth="user:pw", max_file_size=...): setting fields (auth, host) go to Settings,
    anything else to Blocks.launch.
    """
    from dataclasses import fields, replace
    from types import SimpleNamespace

    from ui.app import build_app, launch

    apps = []

    def start(bot, **options):
        names = {f.name for f in fields(bot.settings)}
        settings = replace(bot.settings, port=free_port(), **{k: v for k, v in options.items() if k in names})
        app = build_app(bot)
        launch(app, settings, prevent_thread_lock=True, quiet=True,
               **{k: v for k, v in options.items() if k not in names})
        apps.append(app)
        return SimpleNamespace(url=f"http://127.0.0.1:{settings.port}", app=app, assistant=bot)

    yield start
    for app in apps:
        app.close()
