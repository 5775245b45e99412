"""ingest: a backlog of replies through `checkin poll --once`, beside fetch + parse alone.

    python bench/ingest.py [--tiny | --size N]

A real Dovecot on loopback holds N (5,000) generated replies (bench/replies.py: Gmail,
Outlook, iPhone and HTML-only quoting, some with a 200 KB photo, seven languages) to
check-ins that are in the outbox of a fresh database (SQLite file, or a PostgreSQL schema of
its own at CHECKIN_TEST_POSTGRES_URL). The folder is filled the way a maildir MDA delivers
(one file per message, then a `doveadm` sync assigns UIDs); only the poll is timed.

Real path: `checkin poll --once` as a child process (start-up included): fetch, store raw,
move to the done folder, understand, attribute, store outcomes and their effects, then send
the confirmations and alerts that asked for (to an aiosmtpd sink). `per_s = N / seconds`.
Floor, same folder, same run: imaplib, `UID FETCH` of 250 `BODY.PEEK[]` at a time, each
message parsed by the standard library (`policy.default`, as checkin parses) and its body
text read with `get_body().get_content()`; nothing stored. Each is timed twice (a freshly
filled folder each round) and the fastest round of each counts. Goal: `ratio >= 0.5` on both
databases. Peak RSS of the poll (its own, via bench.common.run_child) with N/5 and with N
messages waiting: memory must not grow with the backlog (`rss_ratio <= 1.2`).
"""

from __future__ import annotations

import email
import imaplib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import replies
from bench.common import (
    Child,
    Row,
    Skip,
    free_port,
    main_for,
    note,
    postgres_schema,
    run_child,
    size_of,
    started_sink,
    timed,
)
from bench.practice import practice_dict, write_and_load

KEY = "ingest"
FULL = 5000
GOAL = ">= 0.5"
RSS_GOAL = "<= 1.2"
# The fastest of two rounds for the poll and for its floor, as bench/send.py does with three:
# another process on a 2-core machine slows a round and never speeds one up.
ROUNDS = 2
FETCH_BATCH = 250
PASSWORD = "bench-secret"
PASSWORD_ENV = "CHECKIN_BENCH_IMAP_PASSWORD"
AT = "2026-11-27T16:00:00+00:00"  # after every reply's Date; 11:00 in New York
DAYS = 10  # check-ins per client in the outbox; clients = messages / DAYS
DONE = "Checkin/Done"


def run(tiny: bool = False, size: int | None = None) -> dict:
    from checkin.demo.dovecot import installed

    if not installed():
        raise Skip("Dovecot is not installed (/usr/sbin/dovecot): apt-get install dovecot-imapd")
    n = size_of(tiny, size, FULL)
    small = max(1, n // 5)
    clients = max(1, -(-n // DAYS))
    sent = replies.checkins(clients, DAYS)
    with note(f"ingest: generating {n} replies"):
        mails = [g.raw for g in replies.generate(sent, n)]
    figures: dict = {}
    with _servers() as (dovecot, smtp_port), tempfile.TemporaryDirectory() as tmp:
        for kind in ("sqlite", "postgres"):
            try:
                figures[kind] = _one_database(
                    kind, dovecot, smtp_port, sent, mails, small, Path(tmp) / kind
                )
            except Skip as exc:
                figures[kind] = {"skipped": str(exc)}
    return figures


@contextmanager
def _servers() -> Iterator[tuple[object, int]]:
    """Dovecot (mail must be reachable by its unprivileged user: not under pytest's 0700
    folders) and an aiosmtpd sink for the confirmations and alerts the poll sends."""
    from checkin.demo.dovecot import Dovecot

    root = Path(tempfile.mkdtemp(prefix="checkin-bench-dovecot-"))
    dovecot = Dovecot(root, free_port())
    try:
        dovecot.start()
        controller = started_sink(_Sink())
        try:
            yield dovecot, controller.port
        finally:
            controller.stop()
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _one_database(
    kind: str, dovecot: object, smtp_port: int, sent: list[replies.Checkin],
    mails: list[bytes], small: int, folder: Path,
) -> dict:  # fmt: skip
    folder.mkdir(parents=True)
    n = len(mails)
    rounds = 1 if n < 100 else ROUNDS
    polls: list[tuple[Child, dict]] = []
    floors: list[float] = []
    for r in range(rounds):
        with note(f"ingest {kind}: filling a folder with {n} (round {r + 1} of {rounds})"):
            user = _filled(dovecot, f"big{r}-{kind}", mails)
        with note(f"ingest {kind} floor: FETCH {FETCH_BATCH} at a time + email parse"):
            floor_seconds, floor_count = timed(lambda user=user: _floor(dovecot.port, user))  # type: ignore[attr-defined]
        if floor_count != n:
            raise RuntimeError(f"ingest floor read {floor_count} of {n} messages")
        floors.append(floor_seconds)
        with note(f"ingest {kind}: checkin poll --once, {n} waiting"):
            polls.append(_poll(kind, dovecot, smtp_port, sent, user, n, folder / f"big{r}"))
    big, outcome = min(polls, key=lambda p: p[0].seconds)
    floor_seconds = min(floors)
    peak = max(p[0].peak_rss_mb for p in polls)  # memory: the worst round, not the fastest
    user = _filled(dovecot, f"small-{kind}", mails[:small])
    with note(f"ingest {kind}: checkin poll --once, {small} waiting"):
        little, _ = _poll(kind, dovecot, smtp_port, sent, user, small, folder / "small")
    per_s, floor_per_s = n / big.seconds, n / floor_seconds
    return {
        "msgs": n,
        "rounds": rounds,
        "all_seconds": [round(p[0].seconds, 3) for p in polls],
        "all_floor_seconds": [round(f, 3) for f in floors],
        "seconds": round(big.seconds, 3),
        "per_s": round(per_s, 1),
        "floor_seconds": round(floor_seconds, 3),
        "floor_per_s": round(floor_per_s, 1),
        "ratio": round(per_s / floor_per_s, 3),
        "goal": GOAL,
        f"peak_rss_mb_{small}": round(little.peak_rss_mb, 1),
        f"peak_rss_mb_{n}": round(peak, 1),
        "rss_msgs": [small, n],
        "rss_ratio": round(peak / little.peak_rss_mb, 3),
        "rss_goal": RSS_GOAL,
        "mean_kb": round(sum(len(m) for m in mails) / n / 1024, 1),
        **outcome,
    }


# -- the folder --------------------------------------------------------------------------------


def _filled(dovecot: object, name: str, mails: list[bytes]) -> str:
    """A new user whose INBOX holds `mails`, delivered as a maildir MDA does: each message
    written to tmp/, renamed into new/, then one `doveadm` sync gives them UIDs in order."""
    user = f"{name}-{uuid.uuid4().hex[:8]}@practice.test"
    dovecot.add_user(user, PASSWORD)  # type: ignore[attr-defined]
    maildir = dovecot.root / "mail" / user / "Maildir"  # type: ignore[attr-defined]
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    for i, raw in enumerate(mails):
        # Dovecot gives new files UIDs in file-name order: the zero-padded count keeps ours.
        base = f"1764000000.M{i:07d}P1.bench"
        tmp = maildir / "tmp" / base
        tmp.write_bytes(raw)
        tmp.rename(maildir / "new" / base)
    _chown_to_mail_user(dovecot.root / "mail" / user)  # type: ignore[attr-defined]
    status = dovecot.doveadm("mailbox", "status", "-u", user, "messages", "INBOX")  # type: ignore[attr-defined]
    if f"messages={len(mails)}" not in status:
        raise RuntimeError(f"ingest: the folder holds {status.strip()}, not {len(mails)}")
    return user


def _chown_to_mail_user(path: Path) -> None:
    """As root, Dovecot reads and writes mail as `nobody` (see checkin.demo.dovecot)."""
    if os.geteuid() != 0:
        return
    import grp
    import pwd

    uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    for folder, dirs, files in os.walk(path):
        os.chown(folder, uid, gid)
        for entry in dirs + files:
            os.chown(os.path.join(folder, entry), uid, gid)


def _floor(port: int, user: str) -> int:
    """The least any ingest must do: fetch every message in batches and parse it."""
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(user, PASSWORD)
    imap.select("INBOX", readonly=True)
    _, found = imap.uid("SEARCH", "ALL")
    uids = found[0].split()
    count = 0
    for start in range(0, len(uids), FETCH_BATCH):
        batch = b",".join(uids[start : start + FETCH_BATCH]).decode()
        _, data = imap.uid("FETCH", batch, "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                message = email.message_from_bytes(item[1], policy=policy.default)
                body = message.get_body(("plain", "html"))  # type: ignore[attr-defined]
                if body is not None:
                    body.get_content()
                count += 1
    imap.logout()
    return count


# -- the real path -----------------------------------------------------------------------------


def _poll(
    kind: str, dovecot: object, smtp_port: int, sent: list[replies.Checkin], user: str, n: int,
    folder: Path,
) -> tuple[Child, dict]:  # fmt: skip
    folder.mkdir(parents=True)
    with _database(kind, folder) as url:
        _prepare(url, sent)
        imap = {
            "host": "127.0.0.1", "port": dovecot.port, "security": "none",  # type: ignore[attr-defined]
            "username": user, "password_env": PASSWORD_ENV, "folder": "INBOX",
            "done_folder": DONE,
        }  # fmt: skip
        clients = len({c.client_id for c in sent})
        data = practice_dict(smtp_port, url, clients=clients, imap=imap)
        config = folder / "checkin.yaml"
        write_and_load(config, data)
        env = {**os.environ, PASSWORD_ENV: PASSWORD}
        child = run_child([_checkin(), "--config", str(config), "poll", "--once", "--at", AT], env)
        if child.returncode != 0:
            raise RuntimeError(f"checkin poll failed ({child.returncode}):\n{child.stderr[-3000:]}")
        outcome = _check(url, dovecot, user, n, child.stdout)
    return child, outcome


def _checkin() -> str:
    beside = Path(sys.executable).parent / "checkin"
    return str(beside) if beside.exists() else (shutil.which("checkin") or "checkin")


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'checkin.db'}"
        return
    base = os.environ.get("CHECKIN_TEST_POSTGRES_URL")
    if not base:
        raise Skip("set CHECKIN_TEST_POSTGRES_URL to run on PostgreSQL")
    with postgres_schema(base, "bench_ingest") as url:
        yield url


def _prepare(url: str, sent: list[replies.Checkin]) -> None:
    """Migrated (as any running install is), with the check-ins the replies answer."""
    from sqlalchemy import insert

    from checkin.store.db import engine_for, upgrade
    from checkin.store.models import Outbox

    engine = engine_for(url)
    upgrade(engine)
    rows = replies.outbox_rows(sent)
    with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(insert(Outbox), rows[start : start + 1000])
    engine.dispose()


def _check(url: str, dovecot: object, user: str, n: int, stdout: str) -> dict:
    """Every message stored once and understood once, and out of the watched folder."""
    from sqlalchemy import func, select

    from checkin.store.db import engine_for
    from checkin.store.models import RawMessage, Reply

    engine = engine_for(url)
    with engine.connect() as c:
        stored = c.execute(select(func.count()).select_from(RawMessage)).scalar_one()
        keys = c.execute(select(func.count(func.distinct(RawMessage.key)))).scalar_one()
        understood = c.execute(select(func.count()).select_from(Reply)).scalar_one()
        review = c.execute(select(func.count()).where(Reply.needs_review)).scalar_one()
        how = {a: k for a, k in c.execute(_counted(Reply.attribution))}
        kinds = {a: k for a, k in c.execute(_counted(Reply.kind))}
    engine.dispose()
    left = len(dovecot.mailbox_uids(user, "INBOX"))  # type: ignore[attr-defined]
    done = len(dovecot.mailbox_uids(user, DONE))  # type: ignore[attr-defined]
    if (stored, keys, understood, left, done) != (n, n, n, 0, n):
        raise RuntimeError(
            f"ingest: {n} waiting, but {stored} stored ({keys} distinct), {understood} "
            f"understood, {left} left in INBOX, {done} done; poll said: {stdout.strip()}"
        )
    return {
        "stored": stored, "understood": understood, "needs_review": review,
        "attribution": dict(sorted(how.items())), "kinds": dict(sorted(kinds.items())),
    }  # fmt: skip


def _counted(column: object) -> object:
    from sqlalchemy import func, select

    return select(column, func.count()).group_by(column)  # type: ignore[call-overload]


def rows(f: dict) -> list[Row]:
    found = []
    for kind in ("sqlite", "postgres"):
        d = f.get(kind, {})
        if "per_s" not in d:
            found.append(Row(f"{KEY}.{kind}", f"skipped: {d.get('skipped', '?')}", 0.0))
            continue
        small, big = d["rss_msgs"]
        found += [
            Row(f"{KEY}.{kind}", f"messages/s ({d['msgs']})", d["per_s"], d["floor_per_s"],
                d["ratio"], f"ratio {GOAL}"),
            Row(f"{KEY}.{kind}", f"peak RSS MB, {big} vs {small} waiting",
                d[f"peak_rss_mb_{big}"], d[f"peak_rss_mb_{small}"], d["rss_ratio"],
                f"ratio {RSS_GOAL}"),
        ]  # fmt: skip
    return found


def main(argv: list[str] | None = None) -> int:
    return main_for(KEY, run, rows, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
