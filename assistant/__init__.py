"""paperchat: cited answers about a collection of research-paper abstracts."""

__version__ = "0.1.0"
