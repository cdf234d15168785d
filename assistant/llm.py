"""The LLM boundary: the embedded llama.cpp server's lifecycle and the OpenAI-compatible client."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.errors import LLMError
from assistant.models import MODEL_LABEL, ensure_gguf
from assistant.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
LOCAL_ALIAS = "local"
START_TIMEOUT = 120.0  # seconds; loading the 1 GB model from a cold disk cache takes ~5-15 s here


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the server when paperchat dies, even by kill -9 (no orphan servers)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LocalServer:
    """A llama-cpp-python OpenAI-compatible server on a free loopback port, started on demand."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self._lock = threading.Lock()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-spawner")
        self.log_path = settings.cache_dir / "llama-server.log"
        self.label = MODEL_LABEL if not settings.gguf else f"{Path(settings.gguf).name} (embedded llama.cpp)"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.proc is not None and self.proc.poll() is None

    def ensure(self) -> str:
        """Start the server if it is not running (again, after a crash); returns its base URL."""
        with self._lock:
            if self.alive():
                return self.base_url
            model = ensure_gguf(self.settings)
            self.port = _free_port()
            env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # measured: busy-waiting threads double TTFT
            cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", LOCAL_ALIAS,
                   "--host", "127.0.0.1", "--port", str(self.port),
                   "--n_threads", str(self.settings.llm_threads), "--n_threads_batch", str(self.settings.llm_threads),
                   "--n_ctx", str(self.settings.llm_ctx), "--n_batch", "512",
                   "--logits_all", "False", "--verbose", "False"]
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            logf = open(self.log_path, "ab")
            # PDEATHSIG fires when the *thread* that forked exits, so fork from one long-lived thread rather than
            # from whichever request thread asked first.
            self.proc = self._spawner.submit(subprocess.Popen, cmd, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                             start_new_session=True, preexec_fn=_die_with_parent).result()
            logf.close()
            atexit.register(self.stop)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise LLMError(f"the embedded LLM server exited at start (code {self.proc.returncode}) — "
                                   f"see {self.log_path}")
                try:
                    with urllib.request.urlopen(self.base_url + "/models", timeout=2):
                        return self.base_url
                except OSError:
                    time.sleep(0.3)
            self.stop()
            raise LLMError(f"the embedded LLM server did not start within {START_TIMEOUT:.0f} s — see {self.log_path}")

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


class LLM:
    """Chat completions through LlamaIndex's OpenAILike: one code path for local and remote servers."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.local = None if settings.remote_llm else LocalServer(settings)
        if self.local is not None:
            self.label = self.local.label
        else:
            self.label = f"{self._model()} at {settings.openai_base_url or 'api.openai.com'}"

    def _model(self) -> str:
        if self.local is not None:
            return LOCAL_ALIAS
        return self.settings.llm_model or DEFAULT_OPENAI_MODEL

    def _client(self, max_tokens: int | None = None):
        from llama_index.llms.openai_like import OpenAILike

        base = self.local.ensure() if self.local is not None else (self.settings.openai_base_url or None)
        return OpenAILike(model=self._model(), api_base=base, api_key=self.settings.openai_api_key or "sk-local",
                          is_chat_model=True, context_window=self.settings.llm_ctx,
                          max_tokens=min(max_tokens or self.settings.llm_max_tokens, self.settings.llm_max_tokens),
                          temperature=0.0,
                          timeout=self.settings.llm_timeout, max_retries=2)  # the openai client's own backoff

    def stream(self, system: str, user: str, max_tokens: int | None = None) -> Iterator[str]:
        """Stream the answer's text deltas; errors become LLMError with a message for the user."""
        from llama_index.core.llms import ChatMessage

        messages = [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]
        try:
            for chunk in self._client(max_tokens).stream_chat(messages):
                if chunk.delta:
                    yield chunk.delta
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
