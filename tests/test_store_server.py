"""The same store/ingest behaviour against a real Chroma server (`chroma run` from the chromadb package)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.corpus import ingest_paths, open_corpus
from assistant.llm import _free_port
from assistant.settings import load_settings
from tests.conftest import DEMO, paperchat_cmd

ADVCLIP = "advclip-downstream-agnostic-adversarial-examples-in-multimodal"


def _chroma_exe() -> str:
    local = Path(sys.executable).parent / "chroma"
    return str(local) if local.exists() else (shutil.which("chroma") or "chroma")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen([_chroma_exe(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_search_and_remove_through_the_server(chroma_server, embedder, tmp_path):
    from assistant.service import Assistant

    settings = load_settings(chroma_host="127.0.0.1", chroma_port=chroma_server, collection="demo", extractive=True)
    report = ingest_paths([DEMO], settings, embedder=embedder)
    assert report.added == 76
    assert open_corpus(settings).stats() == {"papers": 76, "chunks": 152}
    again = ingest_paths([DEMO], settings, embedder=embedder)
    assert (again.added, again.unchanged, again.chunks_written) == (0, 76, 0)
    a = Assistant(settings, embedder=embedder)
    assert a.retrieve("universal adversarial patch against CLIP encoders")[0].id == ADVCLIP
    open_corpus(settings).delete_papers([ADVCLIP])
    assert open_corpus(settings).stats()["papers"] == 75


def test_cli_flags_select_the_server(chroma_server, tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({"id": "s1", "title": "Server paper", "abstract": "Stored on a Chroma server."}) + "\n")
    flags = ["--chroma-host", "127.0.0.1", "--chroma-port", str(chroma_server)]
    env = dict(os.environ, PAPERCHAT_COLLECTION="cli")
    subprocess.run(paperchat_cmd() + ["ingest", str(src), "--quiet"] + flags, check=True, env=env,
                   capture_output=True)
    out = subprocess.run(paperchat_cmd() + ["stats", "--json"] + flags, check=True, env=env, capture_output=True,
                         text=True).stdout
    assert json.loads(out) == {"papers": 1, "chunks": 1}


def test_unreachable_server_gives_a_clear_error(tmp_path):
    port = _free_port()
    proc = subprocess.run(paperchat_cmd() + ["stats", "--chroma-host", "127.0.0.1", "--chroma-port", str(port)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "chroma run" in proc.stderr and "Traceback" not in proc.stderr


def test_the_lexical_index_of_a_server_store_lives_in_the_index_dir_and_is_kept_up_to_date(chroma_server, embedder,
                                                                                           tmp_path, monkeypatch):
    from assistant.corpus import remove_papers
    from assistant.retrieval.index import MANIFEST
    from assistant.service import Assistant
    from assistant.store import Store

    settings = load_settings(chroma_host="127.0.0.1", chroma_port=chroma_server, collection="indexed",
                             index_dir=str(tmp_path / "idx"), extractive=True)
    rows = [{"id": f"s{i}", "title": f"Server study {i} of {topic}", "abstract": f"We examine {topic} closely."}
            for i, topic in enumerate(["coral reefs", "exoplanet atmospheres", "sleep spindles"])]
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ingest_paths([src], settings, embedder=embedder)
    assert (tmp_path / "idx" / "indexed" / MANIFEST).is_file()

    def scan(*args, **kwargs):
        raise AssertionError("read every chunk")

    monkeypatch.setattr(Store, "iter_raw", scan)
    a = Assistant(settings, embedder=embedder)
    assert len(a) == 3 and a.retrieve("exoplanet atmospheres")[0].id == "s1"
    remove_papers(settings, ["s1"])
    a.reload()
    assert len(a) == 2 and "s1" not in a.library.papers
    assert open_corpus(settings).stats() == {"papers": 2, "chunks": 2}
