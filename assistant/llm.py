"""The LLM boundary: the embedded llama.cpp server's lifecycle and the OpenAI-compatible client."""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib.util import find_spec
from pathlib import Path

from assistant.errors import LLMError, PaperchatError
from assistant.models import MODEL_LABEL, ensure_gguf
from assistant.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
LOCAL_ALIAS = "local"
START_TIMEOUT = 120.0  # seconds; loading the 1 GB model from a cold disk cache takes ~5-15 s here
NATIVE, PYTHON = "native", "python"  # llama.cpp's C++ server (xllamacpp wheel) | llama-cpp-python's server


@dataclass(frozen=True)
class ServerOptions:
    """How the embedded server runs; the defaults are the best measured by scripts/bench_llm.py on 2 cores."""

    runtime: str = ""  # NATIVE or PYTHON; "": whichever is installed, llama-cpp-python first (built for this CPU)
    n_batch: int = 512  # one batch holds a whole answer prompt (300-460 tokens)
    n_ubatch: int = 128  # measured: first token 0.74x of ubatch 512 (4 prompts, load ~19; re-measure when quiet)
    threads: int = 0  # 0: Settings.llm_threads (2; one thread: total 1.32x)
    threads_batch: int = 0  # 0: Settings.llm_threads
    lookup: int = 0  # prompt-lookup (n-gram) drafts per step, 0 = off: measured 1.3x first token, 1.75x total here
    lookup_ngram: int = 3  # native runtime: length of the n-gram looked up in the prompt and the answer so far
    omp_wait: str = "PASSIVE"  # measured: ACTIVE (busy-waiting threads) 2.1x first token, 4.9x total

    def resolved_runtime(self) -> str:
        """The runtime these options select on this installation."""
        if self.runtime:
            return self.runtime
        return NATIVE if find_spec("llama_cpp") is None and find_spec("xllamacpp") is not None else PYTHON


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGKILL the server when the thread that forked it dies, even by kill -9."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the owner died between fork and prctl: no signal will ever come
        os._exit(1)


def _command(options: ServerOptions, settings: Settings, model: Path, port: int) -> list[str]:
    threads = options.threads or settings.llm_threads
    threads_batch = options.threads_batch or settings.llm_threads
    if options.resolved_runtime() == NATIVE:
        return [sys.executable, "-m", "assistant.llm", "--model", str(model), "--port", str(port),
                "--ctx", str(settings.llm_ctx), "--batch", str(options.n_batch), "--ubatch", str(options.n_ubatch),
                "--threads", str(threads), "--threads-batch", str(threads_batch),
                "--lookup", str(options.lookup), "--lookup-ngram", str(options.lookup_ngram),
                "--parent", str(os.getpid())]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", LOCAL_ALIAS,
           "--host", "127.0.0.1", "--port", str(port),
           "--n_threads", str(threads), "--n_threads_batch", str(threads_batch),
           "--n_ctx", str(settings.llm_ctx), "--n_batch", str(options.n_batch), "--n_ubatch", str(options.n_ubatch),
           "--logits_all", "False", "--verbose", "False"]
    if options.lookup:
        cmd += ["--draft_model", "prompt-lookup-decoding", "--draft_model_num_pred_tokens", str(options.lookup)]
    return cmd


class LocalServer:
    """An embedded llama.cpp OpenAI-compatible server on a free loopback port that never outlives this process.

    It dies with us on every path: normal exit and exceptions (atexit, and the spawner thread's exit), SIGTERM and
    kill -9 (PR_SET_PDEATHSIG=SIGKILL, which a server busy generating cannot delay, unlike SIGTERM), and the native
    runtime also polls our pid. It runs in its own session so that Ctrl-C reaches us, not it, and is killed as a
    whole process group."""

    def __init__(self, settings: Settings, options: ServerOptions | None = None):
        self.settings = settings
        self.options = options or ServerOptions()
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None
        self._background_lock = threading.Lock()
        # PDEATHSIG fires when the *thread* that forked exits, so fork from one long-lived thread rather than
        # from whichever request thread asked first; it ends only at interpreter shutdown.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-spawner")
        self.log_path = settings.cache_dir / "llama-server.log"
        self.label = MODEL_LABEL if not settings.gguf else f"{Path(settings.gguf).name} (embedded llama.cpp)"
        atexit.register(self.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alive(self) -> bool:
        """True while the server process runs."""
        proc = self.proc
        return proc is not None and proc.poll() is None

    def start_background(self, system: str = "") -> None:
        """Start the server in a background thread so that it loads while we retrieve (idempotent, thread-safe);
        ensure() then waits for it. With `system`, the server also evaluates that system prompt once, so the first
        question finds it in the KV cache."""
        with self._background_lock:  # not self._lock, which a start in progress holds for seconds
            if self.alive() or (self._background is not None and self._background.is_alive()):
                return
            self._background = threading.Thread(target=self._start_quietly, args=(system,), name="llama-start",
                                                daemon=True)
            self._background.start()

    def _start_quietly(self, system: str) -> None:
        try:
            self.ensure()
            if system:
                self._evaluate_prefix(system)
        except PaperchatError as exc:  # ensure() raises it again, with this message, when an answer needs it
            log.warning("background start of the LLM server failed: %s", exc)
        except OSError as exc:
            log.warning("priming the LLM server's prompt cache failed: %s", exc)

    def _evaluate_prefix(self, system: str) -> None:
        """One 1-token request with this system prompt: both runtimes keep the last prompt's KV cache."""
        body = json.dumps({"model": LOCAL_ALIAS, "max_tokens": 1, "temperature": 0.0,
                           "messages": [{"role": "system", "content": system}, {"role": "user", "content": ""}]})
        req = urllib.request.Request(self.base_url + "/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.settings.llm_timeout):
            pass

    def ensure(self) -> str:
        """Start the server if it is not running (again, after a crash); returns its base URL."""
        with self._lock:
            if self.alive():
                return self.base_url
            try:
                self._spawn()
            except LLMError:
                # A wheel built on another CPU can die of SIGILL at start: try the other runtime if it is installed.
                other = NATIVE if self.options.resolved_runtime() == PYTHON else PYTHON
                if self.options.runtime or find_spec("xllamacpp" if other == NATIVE else "llama_cpp") is None:
                    raise
                log.warning("the embedded LLM server failed to start; trying the %s runtime", other)
                self.options = replace(self.options, runtime=other)
                self._spawn()
            return self.base_url

    def _spawn(self) -> None:
        model = ensure_gguf(self.settings)
        self.port = _free_port()
        cmd = _command(self.options, self.settings, model, self.port)
        env = dict(os.environ, OMP_WAIT_POLICY=self.options.omp_wait)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        parent = os.getpid()
        with open(self.log_path, "ab") as logf:
            self.proc = self._spawner.submit(
                subprocess.Popen, cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                preexec_fn=lambda: _die_with_parent(parent)).result()
        self._wait_ready(self.proc)

    def _wait_ready(self, proc: subprocess.Popen) -> None:
        # The native server answers /health with 200 only once the model is loaded; llama-cpp-python's opens its
        # port only then.
        native = self.options.resolved_runtime() == NATIVE
        url = f"http://127.0.0.1:{self.port}/health" if native else f"{self.base_url}/models"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LLMError(f"the embedded LLM server exited at start (code {proc.returncode}) — "
                               f"see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise LLMError(f"the embedded LLM server did not start within {START_TIMEOUT:.0f} s — see {self.log_path}")

    def stop(self) -> None:
        """Kill the server and anything it started (idempotent, safe from atexit and other threads)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGKILL, not SIGTERM: uvicorn's graceful shutdown waits for a streaming answer to finish, and the server
        # keeps nothing worth flushing.
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: pgid == pid
        except (ProcessLookupError, PermissionError):
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("the LLM server (pid %d) did not exit after SIGKILL", proc.pid)


class LLM:
    """Chat completions through the openai SDK (the only module that imports it): one code path for the embedded
    server, OpenAI and any OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings, options: ServerOptions | None = None):
        self.settings = settings
        self.local = None if settings.remote_llm else LocalServer(settings, options)
        if self.local is not None:
            self.label = self.local.label
        else:
            self.label = f"{self._model()} at {settings.openai_base_url or 'api.openai.com'}"

    def _model(self) -> str:
        if self.local is not None:
            return LOCAL_ALIAS
        return self.settings.llm_model or DEFAULT_OPENAI_MODEL

    def prewarm(self, system: str = "") -> None:
        """Start the embedded server in the background now (no-op for a remote LLM); call it when a command that
        may answer with the LLM begins, so the model load overlaps retrieval. Pass the (question-independent)
        system prompt to have it evaluated before the first question arrives."""
        if self.local is not None:
            self.local.start_background(system)

    def _client(self):
        import openai

        base = self.local.ensure() if self.local is not None else (self.settings.openai_base_url or None)
        return openai.OpenAI(base_url=base, api_key=self.settings.openai_api_key or "sk-local",
                             timeout=self.settings.llm_timeout, max_retries=2)  # the openai client's own backoff

    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]:
        """Stream the answer's text deltas; errors become LLMError with a message for the user.

        Keep `system` byte-identical across questions and put everything that varies in `user`: the embedded
        server then reuses the KV cache of that prefix instead of evaluating it again."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        budget = min(max_tokens or self.settings.llm_max_tokens, self.settings.llm_max_tokens)
        try:
            stream = self._client().chat.completions.create(model=self._model(), messages=messages, stream=True,
                                                            max_tokens=budget, temperature=0.0)
            with stream:
                for chunk in stream:
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        yield delta
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(self._explain(exc)) from exc

    def complete(self, system: str, user: str, max_tokens: int | None = None) -> str:
        """The whole answer at once."""
        return "".join(self.stream(system, user, max_tokens))

    def _explain(self, exc: Exception) -> str:
        import openai

        if isinstance(exc, openai.AuthenticationError):
            return "the LLM endpoint rejected the key — check OPENAI_API_KEY"
        if isinstance(exc, openai.APITimeoutError):
            return f"the LLM did not answer within {self.settings.llm_timeout:.0f} s"
        if isinstance(exc, openai.APIConnectionError):
            where = "the embedded LLM server" if self.local else (self.settings.openai_base_url or "OpenAI")
            return f"cannot reach {where} — check OPENAI_BASE_URL or that the server runs"
        if isinstance(exc, openai.NotFoundError):
            return f"model {self._model()!r} not found at the endpoint — set PAPERCHAT_LLM_MODEL"
        if isinstance(exc, openai.APIStatusError):
            return f"the LLM endpoint answered HTTP {exc.status_code}"
        return f"the LLM failed: {type(exc).__name__}"

    def close(self) -> None:
        """Stop the embedded server if we started one."""
        if self.local is not None:
            self.local.stop()


def _serve_native(argv: list[str] | None = None) -> None:
    """The child process of the native runtime: llama.cpp's own HTTP server through the xllamacpp wheel."""
    p = argparse.ArgumentParser(prog="python -m assistant.llm")
    for name in ("port", "ctx", "batch", "ubatch", "threads", "threads-batch", "lookup", "lookup-ngram", "parent"):
        p.add_argument(f"--{name}", type=int, required=name in ("port", "parent"), default=0)
    p.add_argument("--model", required=True)
    args = p.parse_args(argv)
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.model_alias = {LOCAL_ALIAS}
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.offline = True  # never reach for a model hub
    params.n_parallel = 1
    params.n_ctx = args.ctx or 4096
    params.n_batch = args.batch or 512
    params.n_ubatch = args.ubatch or 512
    params.cpuparams.n_threads = args.threads or 2
    params.cpuparams_batch.n_threads = args.threads_batch or 2
    params.cache_ram_mib = 256  # host-RAM prompt cache; its 8 GiB default is a quarter of this machine
    params.ui = False
    if args.lookup:
        params.speculative.types = [xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
        params.speculative.ngram_simple.size_n = args.lookup_ngram or 3
        params.speculative.ngram_simple.size_m = args.lookup
    server = xlc.Server(params)  # returns once the model is loaded and the port is open
    print(f"serving on {server.listening_address}", flush=True)
    while os.getppid() == args.parent:  # a second line of defence beside PR_SET_PDEATHSIG
        time.sleep(0.5)
    os._exit(0)  # skip destructors: the server threads may be mid-generation


if __name__ == "__main__":
    _serve_native()
