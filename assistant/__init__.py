"""paperchat: cited answers about a collection of research-paper abstracts."""

from assistant import offline as _offline  # noqa: F401  (sets offline env before other imports)

__version__ = "0.1.0"
