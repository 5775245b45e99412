"""`checkin run`: APScheduler ticks each minute; the ticks plan and send, nothing more.

The scheduler is only the clock. What is due, and that it goes once, is decided by the
schedule and the database, so a doubled or missed tick is harmless.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from checkin import config
from checkin.clock import Clock
from checkin.errors import ConfigError
from checkin.jobs.plan import plan
from checkin.jobs.send import send_pending, worker_id
from checkin.mail.compose import Templates
from checkin.practice import Practice
from checkin.store.db import engine_for

log = logging.getLogger("checkin.run")


class LiveConfig:
    """The practice file, re-read when it changes on disk or on SIGHUP.

    A bad edit is logged and the last good practice keeps running.
    """

    def __init__(self, path: Path, practice: Practice):
        self.path = path
        self.practice = practice
        self._mtime = _mtime(path)
        self.reload_requested = False

    def refresh(self) -> Practice:
        mtime = _mtime(self.path)
        if mtime == self._mtime and not self.reload_requested:
            return self.practice
        self._mtime, self.reload_requested = mtime, False
        try:
            fresh = config.load(self.path)
        except ConfigError as exc:
            log.error("practice file not reloaded, keeping the last good one:\n%s", exc)
            return self.practice
        if fresh.database != self.practice.database:
            log.warning("database changed in the practice file: restart checkin to use it")
        self.practice = fresh
        log.info("practice file reloaded: %d clients", len(fresh.clients))
        return fresh


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class Service:
    def __init__(self, live: LiveConfig, clock: Clock, watch: bool = True):
        self.live = live
        self.clock = clock
        self.watch = watch
        self.engine = engine_for(live.practice.database)
        self.worker = worker_id()
        self.stopping = threading.Event()
        self.scheduler = BlockingScheduler(timezone="UTC")

    def tick(self) -> None:
        practice = self.live.refresh()
        created = plan(practice, self.engine, self.clock.now())
        templates = Templates(practice.templates)
        report = send_pending(
            practice, self.engine, self.clock, templates, self.worker, self.stopping.is_set
        )
        if created or report.sent or report.failed or report.retrying:
            log.info(
                "tick: %d planned, %d sent, %d retrying, %d failed",
                created,
                report.sent,
                report.retrying,
                report.failed,
            )

    def run(self) -> None:
        self._signals()
        self.scheduler.add_job(
            self._safe_tick,
            "cron",
            second=0,
            id="tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=30,
            next_run_time=datetime.now(UTC),  # the first tick at once, not at the next minute
        )
        watcher = self._start_watcher()
        log.info(
            "running: %d clients; SIGHUP re-reads %s",
            len(self.live.practice.clients),
            self.live.path,
        )
        self.scheduler.start()
        if watcher is not None:
            watcher.join(timeout=60)
        log.info("stopped cleanly")

    def _start_watcher(self) -> threading.Thread | None:
        """The mailbox is watched beside the schedule, in a thread of its own."""
        if not self.watch:
            log.info("--no-watch: this worker only sends; another one reads the replies")
            return None
        if self.live.practice.mail.imap is None:
            log.info("no mail.imap in the practice file: replies are not read")
            return None
        from checkin.jobs.ingest import watch_mailbox

        thread = threading.Thread(
            target=watch_mailbox,
            args=(lambda: self.live.practice, self.engine, self.clock, self.worker,
                  self.stopping.is_set),
            name="mailbox",
            daemon=True,
        )  # fmt: skip
        thread.start()
        return thread

    def _when_running(self, action: Callable[[], object]) -> None:
        """Act on the scheduler from a thread of its own, once its loop is up.

        A signal can arrive before `start()` has got going, and a signal handler must not
        block on the scheduler's locks.
        """

        def wait_then_act() -> None:
            while not self.scheduler.running:
                time.sleep(0.05)
            action()

        threading.Thread(target=wait_then_act, daemon=True).start()

    def _safe_tick(self) -> None:
        # A SIGHUP during a tick finds this job still running and its wake-up is skipped;
        # so tick again at once while a reload is asked for.
        while True:
            try:
                self.tick()
            except Exception:
                # One bad tick (database briefly away, say) must not end the service.
                log.exception("tick failed; trying again next minute")
            if self.stopping.is_set() or not self.live.reload_requested:
                return

    def _signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: finishing the message in hand, then stopping", signum)
            self.stopping.set()
            self._when_running(self.scheduler.shutdown)

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self.live.reload_requested = True
            # Re-read now rather than at the next minute.
            self._when_running(
                lambda: self.scheduler.modify_job("tick", next_run_time=datetime.now(UTC))
            )

        handlers: dict[int, Callable[[int, FrameType | None], None]] = {
            signal.SIGTERM: stop,
            signal.SIGINT: stop,
            signal.SIGHUP: hup,
        }
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
