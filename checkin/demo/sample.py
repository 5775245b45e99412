"""The sample practice: examples/demo.yaml with the demo's own servers and database filled in.

The copy is written next to the temporary database and read back with `checkin.config.load`,
the same validation every practice file gets, so the demo proves the file format too.
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Any

import yaml

from checkin import config
from checkin.demo import DemoSetupError
from checkin.practice import Practice


def source() -> Path:
    """In a checkout (and an editable install) the file is in examples/; a wheel may carry a
    copy inside the package."""
    packaged = Path(__file__).with_name("demo.yaml")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"


def read() -> dict[str, Any]:
    path = source()
    if not path.is_file():
        raise DemoSetupError(
            f"the sample practice is missing ({path}): run the demo from a checkout of checkin "
            "(make demo), where it is examples/demo.yaml"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def practice_address(data: dict[str, Any]) -> str:
    return parseaddr(data["mail"]["from"])[1]


def write(
    folder: Path,
    data: dict[str, Any],
    smtp: tuple[str, int],
    imap: tuple[str, int],
    imap_user: str,
    imap_password: str,
) -> Path:
    """Write the practice file for these servers into `folder`; return its path."""
    secret = folder / "imap-password"
    secret.write_text(imap_password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    mail = data["mail"]
    mail["smtp"].update(host=smtp[0], port=smtp[1], security="none")
    imap_block = {k: v for k, v in mail["imap"].items() if k != "password_env"}
    imap_block.update(
        host=imap[0], port=imap[1], security="none", username=imap_user,
        password_file=secret.name,  # taken from the practice file's folder
    )  # fmt: skip
    mail["imap"] = imap_block
    data["database"] = "sqlite:///checkin.db"  # relative: beside the practice file
    path = folder / "checkin.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def load(path: Path) -> Practice:
    return config.load(path)
