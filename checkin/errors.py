"""One tree of errors, each saying what happens next.

CheckinError
├── ConfigError          the practice file is wrong: report every problem, do nothing
└── DeliveryError        sending a message failed
    ├── TemporaryFailure retry later with backoff (4xx, timeouts, connection errors)
    └── PermanentFailure record the server's words and stop trying (5xx)
"""

from __future__ import annotations

from dataclasses import dataclass


class CheckinError(Exception):
    """Base of every error checkin raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One mistake in the practice file, where it is and how to fix it."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(CheckinError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DeliveryError(CheckinError):
    def __init__(self, message: str, code: int | None = None):
        self.code = code
        super().__init__(message)


class TemporaryFailure(DeliveryError):
    pass


class PermanentFailure(DeliveryError):
    pass
