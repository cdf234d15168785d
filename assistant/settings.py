"""One Settings object, loaded once per entry point from env + CLI flags and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from assistant.errors import ConfigError

PREFIX = "PAPERCHAT_"


def _f(default, help: str, env: str | None = None):
    """A settings field with a one-line description and the env var that sets it."""
    return field(default=default, metadata={"help": help, "env": env})


@dataclass(frozen=True)
class Settings:
    """Everything configurable; env names in the README table come from here."""

    store: Path = _f(Path("data/chroma"), "Directory of the embedded Chroma store.")
    collection: str = _f("papers", "Chroma collection name.")
    chroma_host: str = _f("", "Chroma server host; when set, the HTTP client is used instead of the directory.")
    chroma_port: int = _f(8000, "Chroma server port.")
    index_dir: str = _f("", "Directory of the lexical (BM25) index; default: beside the embedded store, or "
                            "cache_dir/lexical/HOST_PORT for a Chroma server.")
    openai_api_key: str = _f("", "Key for OpenAI or an OpenAI-compatible server; switches off the embedded LLM.",
                             "OPENAI_API_KEY")
    openai_base_url: str = _f("", "OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server).", "OPENAI_BASE_URL")
    llm_model: str = _f("", "Model name at the remote endpoint (default gpt-4o-mini for OpenAI).")
    gguf: str = _f("", "Path to a GGUF file to serve locally instead of the bundled Qwen2.5-Coder-1.5B.")
    llm_threads: int = _f(2, "Threads for the embedded llama.cpp server.")
    llm_ctx: int = _f(4096, "Context window of the embedded llama.cpp server.")
    llm_timeout: float = _f(120.0, "Seconds to wait for an LLM answer before falling back to an extractive one.")
    llm_max_tokens: int = _f(320, "Maximum tokens the LLM may write for one answer.")
    extractive: bool = _f(False, "Answer from evidence sentences only, without an LLM.")
    unsupported: str = _f("flag", "What to do with answer sentences no abstract supports: flag or drop.")
    k: int = _f(5, "Number of papers shown as sources.")
    cache_dir: Path = _f(Path.home() / ".cache" / "paperchat",
                         "Where the local model files (the assembled GGUF, the int8 embedder) are kept.")
    host: str = _f("127.0.0.1", "Address the web UI binds to.")
    port: int = _f(7860, "Port of the web UI.")
    auth: str = _f("", "user:password required by the web UI (empty: no login).")
    mcp: bool = _f(False, "Also serve MCP tools (search_papers, ask, check_claim) at /gradio_api/mcp/sse.")

    @property
    def remote_llm(self) -> bool:
        """True when an OpenAI(-compatible) endpoint is configured instead of the embedded model."""
        return bool(self.openai_api_key or self.openai_base_url)


def env_name(f) -> str:
    """The environment variable that sets a Settings field."""
    return f.metadata.get("env") or PREFIX + f.name.upper()


def _coerce(f, raw: str):
    kind = type(f.default)
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind is Path:
            return Path(raw).expanduser()
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{env_name(f)}={raw!r} is not a valid {kind.__name__}") from exc


def load_settings(**overrides) -> Settings:
    """Settings from the environment, then explicit overrides (CLI flags); None means 'not given'."""
    values = {}
    for f in fields(Settings):
        raw = os.environ.get(env_name(f))
        if raw not in (None, ""):
            values[f.name] = _coerce(f, raw)
    settings = replace(Settings(), **values)
    given = {k: v for k, v in overrides.items() if v is not None}
    for name, value in given.items():
        f = next((f for f in fields(Settings) if f.name == name), None)
        if f is None:
            raise ConfigError(f"unknown setting {name!r}")
        if isinstance(value, str) and type(f.default) is not str:
            given[name] = _coerce(f, value)
    settings = replace(settings, **given)
    if settings.unsupported not in ("flag", "drop"):
        raise ConfigError(f"{PREFIX}UNSUPPORTED must be 'flag' or 'drop', not {settings.unsupported!r}")
    return settings


def settings_table() -> str:
    """The README's configuration table, generated from the fields."""
    rows = ["| variable | default | what it does |", "| --- | --- | --- |"]
    for f in fields(Settings):
        default = f.default
        if f.name == "cache_dir":
            default = "~/.cache/paperchat"
        rows.append(f"| `{env_name(f)}` | `{default}` | {f.metadata['help']} |")
    return "\n".join(rows)
