"""The sentence-vector cache in files (assistant/store/sentence_files.py): atomic, shared by processes, kill-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

from assistant.store import sentence_files
from assistant.store.sentence_files import SentenceFiles
from tests.conftest import ROOT


def _vecs(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)


def test_saved_vectors_are_read_back_by_another_instance_and_drops_apply_until_saved_again(tmp_path):
    a, b = SentenceFiles(tmp_path / "c"), SentenceFiles(tmp_path / "c")
    v1, v2 = _vecs(2, 1), _vecs(1, 2)
    a.save([("p1@h1", "p1", ["s one.", "s two."], v1), ("p2@h2", "p2", ["only."], v2)])
    got = b.load(["p1@h1", "p2@h2", "p3@h3"])
    assert set(got) == {"p1@h1", "p2@h2"} and got["p1@h1"][0] == ["s one.", "s two."]
    assert np.array_equal(got["p1@h1"][1], v1) and np.array_equal(got["p2@h2"][1], v2)
    a.drop(["p1"])
    assert set(b.load(["p1@h1", "p2@h2"])) == {"p2@h2"}
    b.save([("p1@h1", "p1", ["s one.", "s two."], v1)])  # the same paper ingested again
    assert set(SentenceFiles(tmp_path / "c").load(["p1@h1", "p2@h2"])) == {"p1@h1", "p2@h2"}


def test_many_saves_are_merged_into_one_shard_keeping_every_live_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(sentence_files, "MERGE_AT", 4)
    c = SentenceFiles(tmp_path / "c")
    for i in range(10):
        c.save([(f"p{i}@h", f"p{i}", [f"sentence {i}."], _vecs(1, i))])
        if i == 3:
            c.drop(["p0"])
    shards = list((tmp_path / "c").glob("shard-*.json"))
    assert 1 <= len(shards) <= 5 and not list((tmp_path / "c").glob("drop-*"))
    got = SentenceFiles(tmp_path / "c").load([f"p{i}@h" for i in range(10)])
    assert set(got) == {f"p{i}@h" for i in range(1, 10)}
    assert np.array_equal(got["p7@h"][1], _vecs(1, 7))


def test_a_writer_killed_mid_save_leaves_a_readable_cache(tmp_path):
    """kill -9 while a process saves shards in a loop: every complete shard reads back, nothing torn is read, and
    the next writer works (a Chroma collection killed mid-flush crashed every later write)."""
    root = tmp_path / "c"
    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[2]);"
            "from assistant.store.sentence_files import SentenceFiles;"
            "c = SentenceFiles(__import__('pathlib').Path(sys.argv[1]));"
            "i = 0\n"
            "while True:\n"
            "    c.save([(f'p{i}@h', f'p{i}', ['s.'] * 50, np.full((50, 384), i, np.float32))]); i += 1\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root), str(ROOT)])
    deadline = time.time() + 20
    while time.time() < deadline and len(list(root.glob("shard-*.json"))) < 10:
        time.sleep(0.02)
    time.sleep(1.5)  # past at least one merge (MERGE_AT shards), killed wherever it is
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    c = SentenceFiles(root)
    got = c.load([f"p{i}@h" for i in range(2000)])
    assert len(got) >= 10
    assert all(float(v[1].min()) == float(v[1].max()) == int(k[1:].split("@")[0]) for k, v in got.items())
    c.save([("new@h", "new", ["fresh."], _vecs(1, 9))])
    assert "new@h" in SentenceFiles(root).load(["new@h"])
