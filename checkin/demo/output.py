"""What the demo leaves behind: every mail as a numbered .eml, the digests as HTML and text,
and the export of everything stored."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

DEFAULT_NAME = "checkin-demo-output"


class OutputError(RuntimeError):
    pass


def choose_folder(requested: Path | None, cwd: Path) -> Path:
    """`--out DIR` must be new or empty (we never mix with, or delete, someone's files);
    without it, the first free ./checkin-demo-output[-N]."""
    if requested is not None:
        if requested.exists() and (not requested.is_dir() or any(requested.iterdir())):
            raise OutputError(f"{requested} exists and is not an empty folder; choose another")
        return requested
    for n in range(1, 1000):
        candidate = cwd / (DEFAULT_NAME if n == 1 else f"{DEFAULT_NAME}-{n}")
        if not candidate.exists():
            return candidate
    raise OutputError(f"no free {DEFAULT_NAME}-N folder in {cwd}; pass --out DIR")


class Output:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mail_dir = folder / "mail"
        self.digest_dir = folder / "digests"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.digest_dir.mkdir(exist_ok=True)
        self.mails = 0

    def mail(self, number: int, label: str, direction: str, address: str, raw: bytes) -> Path:
        """`007-checkin-to-kofi@work.example.eml`: in the order the SMTP server took them."""
        path = self.mail_dir / f"{number:03d}-{label}-{direction}-{_safe(address)}.eml"
        path.write_bytes(raw)
        self.mails += 1
        return path

    def digest(self, therapist_id: str, week: str, msg: EmailMessage) -> tuple[Path, Path]:
        stem = self.digest_dir / f"digest-{_safe(therapist_id)}-{week}"
        html, text = msg.get_body(("html",)), msg.get_body(("plain",))
        assert html is not None and text is not None
        html_path, text_path = stem.with_suffix(".html"), stem.with_suffix(".txt")
        html_path.write_text(html.get_content(), encoding="utf-8")
        text_path.write_text(text.get_content(), encoding="utf-8")
        return html_path, text_path

    def export(self, text: str) -> Path:
        path = self.folder / "export.json"
        path.write_text(text, encoding="utf-8")
        return path


def _safe(name: str) -> str:
    """File-name safe on every system: addresses keep their @ and dots, nothing else odd."""
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", name)[:80] or "unknown"
