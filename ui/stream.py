"""The stop-aware event pump: an answer's events on a worker thread, ended within 0.1 s of a Stop."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

POLL_S = 0.1  # how often a waiting answer looks for a Stop; a user sees it end within this time
_END = object()


class StopRequests:
    """Browser sessions whose running answer should stop at its next step (one set for all sessions)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: set[str] = set()

    def request(self, session: str) -> None:
        """Ask the session's running answer to stop."""
        with self._lock:
            self._sessions.add(session)

    def pending(self, session: str) -> bool:
        """True when a Stop was requested and not yet taken."""
        with self._lock:
            return session in self._sessions

    def take(self, session: str) -> bool:
        """Clear the session's request; True when there was one."""
        with self._lock:
            found = session in self._sessions
            self._sessions.discard(session)
            return found


def until_stopped(events: Iterator, stop: Callable[[], bool], poll: float = POLL_S) -> Iterator:
    """The events of an answer, produced on a worker thread so that a Stop is noticed within `poll` seconds even
    while the producer waits (e.g. for the LLM's first token). When iteration ends early, the worker closes the
    producer as soon as it yields again, which closes its LLM request."""
    out: queue.Queue = queue.Queue()
    abandoned = threading.Event()

    def work() -> None:
        try:
            for event in events:
                if abandoned.is_set():
                    break
                out.put((True, event))
        except Exception as exc:  # handed to the consumer, which reports it
            out.put((False, exc))
        finally:
            getattr(events, "close", lambda: None)()  # a generator's cleanup ends its LLM request
            out.put((True, _END))

    threading.Thread(target=work, daemon=True, name="answer-events").start()
    try:
        while not stop():
            try:
                ok, item = out.get(timeout=poll)
            except queue.Empty:
                continue
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        abandoned.set()
