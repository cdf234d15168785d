"""The embedded LLM server never outlives its owner: a real owner process, a real server, every way of dying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
GONE_WITHIN = 15.0  # seconds; a behaviour bound (is it gone at all?), not a speed target

# The owner: starts the server through our LLM class, optionally starts a long answer in a thread and waits for its
# first token, reports the server's pid, then dies the way argv[1] says.
DRIVER = r"""
import os, sys, threading, time
from assistant.llm import LLM
from assistant.settings import load_settings

how, busy = sys.argv[1], sys.argv[2] == "busy"
llm = LLM(load_settings(llm_max_tokens=4000))
llm.local.ensure()
if busy:
    first = threading.Event()
    def talk():
        for _ in llm.stream("You are a patient teacher.", "Count from one to five thousand in words, one per line.",
                            max_tokens=4000):
            first.set()
    threading.Thread(target=talk, daemon=True).start()
    if not first.wait(120):
        sys.exit("no first token within 120 s")
print(llm.local.proc.pid, flush=True)
sys.stdin.readline()  # the test has seen the server alive: now die
if how == "exit":
    sys.exit(0)
if how == "raise":
    raise RuntimeError("the owner failed")
time.sleep(600)  # the test signals us instead
"""


def _state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, ...), or None once it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _live(field: int, value: int) -> list[int]:
    """Live (non-zombie) processes whose /proc stat field (after the name: 1 = parent, 2 = process group) is value."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[field]) == value and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _group(pgid: int) -> list[int]:
    """Live processes in a process group."""
    return _live(2, pgid)


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _state(pid) in (None, "Z") and not _group(pid):  # a zombie has stopped; init reaps it
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def gguf():
    """The bundled model, assembled once into the cache (the drivers reuse it)."""
    from assistant.models import ensure_gguf
    from assistant.settings import load_settings

    return ensure_gguf(load_settings())


@pytest.mark.parametrize("busy", ["idle", "busy"])
@pytest.mark.parametrize("how", ["exit", "raise", "sigterm", "sigkill"])
def test_server_dies_with_its_owner(gguf, how, busy, tmp_path):
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, PAPERCHAT_CACHE_DIR=str(gguf.parent))
    owner = subprocess.Popen([sys.executable, "-c", DRIVER, how, busy], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=open(tmp_path / "owner.err", "wb"), env=env, cwd=ROOT, text=True)
    server = None
    try:
        line = owner.stdout.readline()
        assert line.strip().isdigit(), (tmp_path / "owner.err").read_text()[-2000:]
        server = int(line)
        assert _state(server) not in (None, "Z"), "the server should be running while its owner lives"
        if how == "sigterm":
            owner.send_signal(signal.SIGTERM)
        elif how == "sigkill":
            owner.kill()
        else:
            owner.stdin.write("go\n")
            owner.stdin.flush()
        owner.wait(timeout=60)
        if how == "raise":
            assert "the owner failed" in (tmp_path / "owner.err").read_text()
        assert _gone(server, GONE_WITHIN), f"server {server} outlived its owner ({how}, {busy}): " \
                                           f"state {_state(server)}"
    finally:
        if owner.poll() is None:
            owner.kill()
        if server is not None and _state(server) not in (None, "Z"):
            os.kill(server, signal.SIGKILL)


def _children() -> list[int]:
    """Our live child processes."""
    return _live(1, os.getpid())


def test_prewarm_from_many_threads_starts_one_server_that_answers(gguf):
    import threading
    from dataclasses import replace

    from assistant.llm import LLM
    from assistant.settings import load_settings

    before = set(_children())
    llm = LLM(replace(load_settings(), cache_dir=gguf.parent))
    try:
        callers = [threading.Thread(target=llm.prewarm, args=("You are terse.",)) for _ in range(4)]
        for t in callers:
            t.start()
        for t in callers:
            t.join()
        llm.local.ensure()  # waits for the background start instead of starting a second server
        assert set(_children()) - before == {llm.local.proc.pid}
        assert llm.complete("You are terse.", "Reply with the word yes.", max_tokens=5).strip()
        llm.prewarm()  # running already: nothing new
        assert set(_children()) - before == {llm.local.proc.pid}
    finally:
        llm.close()
    assert not set(_children()) - before
