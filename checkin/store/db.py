"""Engine and sessions for SQLite (embedded default) and PostgreSQL; migrations at start."""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Column, Connection, Engine, Table, event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x636865636B696E  # "checkin": one advisory lock key for every checkin database


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLAlchemy would otherwise look for psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the watcher read while the sender writes; the driver's own BEGIN is
        # switched off so that every write transaction can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _wal(cursor)
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Every commit waits for the disk unless a caller asks otherwise (repeatable_writes):
        # a stored reply must survive a power cut before it leaves the watched folder.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: two processes claiming rows queue on the lock instead of failing
        # later with "database is locked" when a read transaction tries to write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _wal(cursor: Any, tries: int = 100) -> None:
    """Switch to WAL. On a new file, processes starting together race to do it, and SQLite
    answers the losers "database is locked" at once, without its busy wait: wait here."""
    for attempt in range(tries):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05)


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@contextmanager
def repeatable_writes(engine: Engine) -> Iterator[Connection]:
    """A connection whose commits a power cut may undo, though a crash of this process cannot.

    Only for writes whose loss repeats work and loses nothing: marking a message sent (lost,
    it is sent again with the same Message-ID). Its commits then do not wait for the disk:
    SQLite in WAL mode syncs at checkpoints only (synchronous=NORMAL), PostgreSQL commits
    without waiting for its WAL flush (synchronous_commit=off). Every other connection, the
    one storing raw replies above all, keeps the full wait. Begin a transaction per write.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection
        assert raw is not None
        # Set outside any transaction (SQLite refuses otherwise), and set back before the
        # connection returns to the pool.
        raw.cursor().execute(
            "PRAGMA synchronous=NORMAL" if sqlite else "SET synchronous_commit TO OFF"
        )
        if not sqlite:
            raw.commit()
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            raw.cursor().execute(
                "PRAGMA synchronous=FULL" if sqlite else "RESET synchronous_commit"
            )
            if not sqlite:
                raw.commit()


def insert_new(s: Session, model: type, rows: list[dict[str, Any]], key: str = "key") -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING: the database, not the caller, decides "once".

    Returns how many rows were new (counted with RETURNING: some drivers report -1 rows).
    """
    return len(insert_new_returning(s, model, rows, key))


def insert_new_returning(
    s: Session,
    model: type,
    rows: list[dict[str, Any]],
    key: str = "key",
    returning: tuple[str, ...] = ("id",),
) -> list[tuple[Any, ...]]:
    """`insert_new`, giving the `returning` columns of each new row.

    Every row must name the same columns; a column none names gets its scalar default.
    """
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    connection = s.connection()
    if connection.dialect.name == "postgresql":
        return insert_new_unnest(connection, table, rows, key, returning)
    # The table, not the ORM entity, and the rows as parameters: SQLAlchemy then batches them
    # ("insertmanyvalues") without the ORM's per-row bookkeeping, several times faster.
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(*(table.c[name] for name in returning))
    )
    return [
        tuple(row) for part in _sqlite_groups(rows) for row in connection.execute(statement, part)
    ]


# Rows per INSERT on SQLite. A statement of k rows is prepared once per k and kept by the
# driver's statement cache (128 statements) with its last parameters bound: for raw mail, the
# messages themselves. Batches of any size, as a byte cap makes them, would leave up to a
# hundred such statements holding a batch of mail each, so memory would grow with the
# backlog. Groups of exactly this many, and the rest one by one, use two statements whatever
# comes. (PostgreSQL's driver keeps no parameters, and its insert is one statement.)
INSERT_ROWS = 25


def _sqlite_groups(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    whole = len(rows) - len(rows) % INSERT_ROWS
    for start in range(0, whole, INSERT_ROWS):
        yield rows[start : start + INSERT_ROWS]
    for row in rows[whole:]:
        yield [row]


def insert_new_unnest(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    key: str,
    returning: tuple[str, ...] = ("id",),
) -> list[tuple[Any, ...]]:
    """insert_new on PostgreSQL: one array per column, in a statement that is always the same;
    the `returning` columns of each new row.

    The "insertmanyvalues" form has a placeholder per value (3,500 for 250 raw messages), and
    psycopg parses any query over 4096 characters or 50 parameters anew in Python at every
    execution: about 1 s of a 21 s `poll` of 5,000 messages. This one stays short and cached.
    """
    names = list(rows[0])
    for row in rows:
        assert row.keys() == rows[0].keys(), f"insert_new: rows differ: {names}, {list(row)}"
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in rows[0] or column.default is None:
            continue
        assert column.default.is_scalar, f"insert_new: {column.name}'s default is not a value"
        defaults[column.name] = column.default.arg
    sql, processors = _unnest_insert(table, (*names, *defaults), key, returning, connection.dialect)
    arrays = [[row[name] for row in rows] for name in names]
    arrays += [[value] * len(rows) for value in defaults.values()]
    params = tuple(
        values if process is None else [process(v) for v in values]
        for values, process in zip(arrays, processors, strict=True)
    )
    return [tuple(row) for row in connection.exec_driver_sql(sql, params)]


@functools.lru_cache(maxsize=64)
def _unnest_insert(
    table: Table, names: tuple[str, ...], key: str, returning: tuple[str, ...], dialect: Dialect
) -> tuple[str, list[Callable[[Any], Any] | None]]:
    """The statement and each column's bind processor (the UTCDateTime's check, for one)."""
    quote = dialect.identifier_preparer.quote
    columns = [table.c[name] for name in names]
    # %b: arrays in binary, each value as its bytes, with no array literal to escape and parse
    # (half the time of text arrays for 250 messages of 9 KB).
    arrays = ", ".join(f"%b::{_array_type(c, dialect)}" for c in columns)
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)}"
        f" ({', '.join(quote(name) for name in names)}) SELECT * FROM unnest({arrays})"
        f" ON CONFLICT ({quote(key)}) DO NOTHING RETURNING {', '.join(map(quote, returning))}"
    )
    return sql, [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]


def _array_type(column: Column[Any], dialect: Dialect) -> str:
    """VARCHAR[] for VARCHAR(300): a cast to VARCHAR(300) would cut a longer value silently,
    where storing it in the column refuses it, as a plain INSERT does."""
    return re.sub(r"\(.*?\)", "", column.type.compile(dialect=dialect)) + "[]"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to run at every start."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Workers started together on a new database would otherwise all create the
            # tables and all but one crash. The lock waits for the first; the others then find
            # the schema current. (SQLite's BEGIN IMMEDIATE already makes them take turns.)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
