"""Ingest: parse abstract files, chunk them and write them to the store."""

from assistant import offline as _offline  # noqa: F401
