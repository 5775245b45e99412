"""The schema comes from migrations, matches the models, and upgrades keep old data usable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from checkin.core.attribute import token_hash
from checkin.store.db import MIGRATIONS, engine_for, upgrade


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    engine = engine_for(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_tokens_of_checkins_sent_before_0002_still_match(database_url: str) -> None:
    engine = engine_for(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO outbox (key, kind, recipient, token, message_id, status, attempts,"
                " due_at, send_after, created_at) VALUES ('k', 'checkin', 'a@b.example',"
                " 'tok', '<m@x>', 'sent', 1, :now, :now, :now)"
            ),
            {"now": now.replace(tzinfo=None)},
        )
    upgrade(engine)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM outbox")).scalar_one()
    engine.dispose()
    assert stored == token_hash("tok")


def test_workers_started_together_on_a_new_database_all_come_up(database_url: str) -> None:
    """Each worker migrates at start; on an empty database they must take turns, not crash."""
    import threading

    engines = [engine_for(database_url) for _ in range(3)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def start(engine) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as exc:  # reported below, whatever it is
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with engines[0].connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    for engine in engines:
        engine.dispose()
    assert errors == [] and diff == []


def test_raw_mail_is_compressed_with_lz4_where_postgresql_has_it(database_url: str) -> None:
    engine = engine_for(database_url)
    upgrade(engine)
    with engine.connect() as c:
        if c.dialect.name != "postgresql":
            engine.dispose()
            pytest.skip("SQLite has no column compression to choose")
        has_lz4 = c.execute(
            text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                 " WHERE name = 'default_toast_compression'")
        ).scalar()  # fmt: skip
        method = c.execute(
            text("SELECT attcompression FROM pg_attribute"
                 " WHERE attrelid = 'raw_message'::regclass AND attname = 'raw'")
        ).scalar()  # fmt: skip
        big = bytes(range(256)) * 400  # 100 KB, stored out of line and compressed
        c.execute(
            text("INSERT INTO raw_message (key, sha256, size, headers_only, raw, mailbox,"
                 " uidvalidity, uid, fetched_at) VALUES ('k', 's', 1, false, :raw, 'm', 1, 1,"
                 " now())"),
            {"raw": big},
        )  # fmt: skip
        assert c.execute(text("SELECT raw FROM raw_message")).scalar() == big
    engine.dispose()
    assert method == ("l" if has_lz4 else "")
