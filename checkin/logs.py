"""Logging: one line per unit of work, with ids and outcomes; never client text or secrets."""

from __future__ import annotations

import logging
import sys


def setup(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Library chatter at DEBUG can include message bodies and AUTH lines.
    for noisy in ("imapclient", "sqlalchemy", "apscheduler", "mail.log", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact(address: str) -> str:
    """'alex@example.net' -> 'a***@example.net': enough to tell addresses apart in a log."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"
