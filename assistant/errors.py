"""The project's exceptions: one base, a few kinds, each message says what to do."""


class PaperchatError(Exception):
    """Base for every error we show to a user; the message is meant for them."""


class ParseError(PaperchatError):
    """Input file problems, reported as `file:line: what is wrong` lines."""

    def __init__(self, problems: list[str], total: int | None = None):
        self.problems = problems
        self.total = total if total is not None else len(problems)
        shown = problems[:20]
        more = self.total - len(shown)
        text = "\n".join(shown)
        if more > 0:
            text += f"\n... and {more} more problem(s)"
        super().__init__(text)


class StoreError(PaperchatError):
    """The vector store is missing, empty, unreachable or incompatible."""


class ConfigError(PaperchatError):
    """A setting is wrong or a required file is missing."""


class LLMError(PaperchatError):
    """The language model could not be reached or failed to answer."""
