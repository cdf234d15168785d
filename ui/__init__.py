"""The Gradio chat; calls assistant/, never the other way round."""

from assistant import offline as _offline  # noqa: F401
