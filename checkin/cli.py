"""The `checkin` command. Each sub-command validates the practice file, then calls one job."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine

from checkin import config, logs
from checkin.clock import Clock, FixedClock, SystemClock
from checkin.core.weekly import DigestWindow
from checkin.errors import ConfigError
from checkin.practice import Client, Practice, Therapist
from checkin.store import clients
from checkin.store.db import engine_for, upgrade


class Context:
    def __init__(self, config_path: str | None, verbose: bool):
        self.path = config.resolve_path(config_path)
        self.verbose = verbose

    def practice(self) -> Practice:
        """Load and validate, or print every problem and stop before doing anything."""
        try:
            return config.load(self.path)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(exc.problems)} problem(s); nothing was done.", err=True)
            sys.exit(1)


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="The practice file [default: $CHECKIN_CONFIG, then ./checkin.yaml].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more (never client text).")
@click.version_option(package_name="checkin")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Email check-ins between therapy sessions."""
    logs.setup(verbose)
    ctx.obj = Context(config_path, verbose)


@main.command()
@pass_context
def check(ctx: Context) -> None:
    """Validate the practice file and report every mistake as FILE:LINE."""
    practice = ctx.practice()
    experiments = sum(len(c.experiments) for c in practice.clients)
    click.echo(
        f"{ctx.path}: OK: {len(practice.therapists)} therapist(s), "
        f"{len(practice.clients)} client(s), {experiments} experiment(s)."
    )
    if practice.safety.client_message is None:
        click.echo(
            f"{ctx.path}: warning: safety.client_message is not set, so a client whose reply "
            "carries risk language gets the shipped default (not watched around the clock; "
            "call your local emergency number; Samaritans 116 123, US 988). Write your own "
            "with your local crisis lines under safety: client_message:",
            err=True,
        )


@main.command()
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="The practice file [default: the group's --config, $CHECKIN_CONFIG, ./checkin.yaml].",
)
@click.option(
    "--wait",
    type=float,
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the test message to come back over IMAP.",
)
@pass_context
def doctor(ctx: Context, config_path: str | None, wait: float) -> None:
    """Check the practice file, mail servers, database and templates end to end.

    Sends one test message from the practice address to itself (none to clients) and moves
    it to the done folder when it arrives. Exits 1 if any check failed.
    """
    from checkin.jobs.doctor import run_doctor

    path = config.resolve_path(config_path) if config_path else ctx.path
    if not run_doctor(path, click.echo, wait=wait):
        sys.exit(1)


@main.command("send-due")
@click.option("--at", "at", metavar="ISO-TIME", help="Pretend the clock says this time.")
@pass_context
def send_due(ctx: Context, at: str | None) -> None:
    """Plan and send what is due now, once, then exit (for cron)."""
    from checkin.jobs.plan import plan
    from checkin.jobs.send import send_pending, worker_id
    from checkin.mail.compose import Templates

    practice = ctx.practice()
    clock = _clock(at)
    engine = _database(practice)
    created = plan(practice, engine, clock.now())
    report = send_pending(practice, engine, clock, Templates(practice.templates), worker_id())
    click.echo(
        f"{created} planned, {report.sent} sent, {report.retrying} to retry, "
        f"{report.failed} failed, {report.cancelled} cancelled."
    )


@main.command()
@click.option(
    "--no-watch",
    is_flag=True,
    help="Only schedule and send; leave the mailbox to another worker (several workers share "
    "one PostgreSQL database, one of them watching).",
)
@pass_context
def run(ctx: Context, no_watch: bool) -> None:
    """Run the service: schedule and send, reloading the practice file when it changes."""
    from checkin.jobs.scheduler import LiveConfig, Service

    practice = ctx.practice()
    _database(practice)
    Service(LiveConfig(ctx.path, practice), SystemClock(), watch=not no_watch).run()


@main.command()
@click.option("--once", is_flag=True, help="One pass over the mailbox, then exit.")
@click.option("--at", "at", metavar="ISO-TIME", help="With --once: pretend the clock says this.")
@pass_context
def poll(ctx: Context, once: bool, at: str | None) -> None:
    """Fetch, store and understand replies: one pass, or keep watching (IDLE)."""
    from checkin.jobs.ingest import one_pass, watch_mailbox
    from checkin.jobs.send import worker_id
    from checkin.mail.imap import Mailbox

    if at and not once:
        raise click.BadParameter("--at only goes with --once")
    practice = _with_mailbox(ctx.practice(), ctx.path)
    engine, clock = _database(practice), _clock(at)
    if not once:
        stop = _stop_on_signals()
        watch_mailbox(lambda: practice, engine, clock, worker_id(), stop.is_set)
        return
    assert practice.mail.imap is not None
    with Mailbox(practice.mail.imap) as mailbox:
        report = one_pass(lambda: practice, engine, clock, mailbox, worker_id())
    click.echo(
        f"{report.fetched} fetched, {report.stored} new, {report.understood} understood, "
        f"{report.flagged} need review."
    )


def _with_mailbox(practice: Practice, path: object) -> Practice:
    if practice.mail.imap is None:
        click.echo(f"{path}: no mail.imap block: add one to read replies.", err=True)
        sys.exit(1)
    return practice


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    return stop


@main.command()
@click.option("--client", "client_id", metavar="ID", help="Only this client.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@pass_context
def export(ctx: Context, client_id: str | None, fmt: str) -> None:
    """Everything stored about clients: check-ins, replies, notes, commands, unattributed mail."""
    from checkin.jobs.export import export as export_job

    practice = ctx.practice()
    if client_id is not None:
        _client(ctx, client_id)
    click.echo(export_job(practice, _database(practice), client_id, fmt), nl=False)


@main.command()
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def forget(ctx: Context, client_id: str, yes: bool) -> None:
    """Erase everything stored about a client (check-ins, replies, raw mail, statuses)."""
    from checkin.store.records import forget as forget_client

    practice, who = _client(ctx, client_id)
    if not yes:
        click.confirm(f"Erase everything stored about {who.id}? This cannot be undone", abort=True)
    gone = forget_client(_database(practice), who.id, who.emails)
    click.echo(
        f"{who.id}: erased {gone.messages_sent} sent message(s), {gone.replies} reply record(s), "
        f"{gone.raw_messages} raw message(s), {gone.statuses} status record(s). "
        "Remove the client from the practice file too, or check-ins will start again."
    )


@main.command()
@click.option("--therapist", "therapist_id", required=True, metavar="ID")
@click.option(
    "--week", metavar="YYYY-Www", help="The digest due in this ISO week [default: the latest]."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "json"]),
    default="text",
    show_default=True,
)
@click.option("--send", is_flag=True, help="Send it (once: the same digest is never sent twice).")
@click.option("--at", "at", metavar="ISO-TIME", help="Pretend the clock says this time.")
@pass_context
def digest(
    ctx: Context, therapist_id: str, week: str | None, fmt: str, send: bool, at: str | None
) -> None:
    """Render a therapist's weekly digest on demand (to stdout), or send it."""
    from checkin.jobs.digest import as_format, digest_for, enqueue_window
    from checkin.jobs.send import send_pending, worker_id
    from checkin.mail.compose import Templates

    practice = ctx.practice()
    therapist = practice.therapist(therapist_id)
    if therapist is None:
        known = ", ".join(t.id for t in practice.therapists)
        raise click.BadParameter(f"no therapist {therapist_id!r} (known: {known})")
    clock, engine = _clock(at), _database(practice)
    window = _window(therapist, week, clock.now())
    if not send:
        click.echo(
            as_format(Templates(practice.templates), digest_for(practice, engine, window), fmt)
        )
        return
    created = enqueue_window(practice, engine, window, clock.now())
    report = send_pending(practice, engine, clock, Templates(practice.templates), worker_id())
    click.echo(
        f"digest {window.week} for {therapist.id}: "
        + ("sent." if created and report.sent else "already sent or queued; not sent again.")
    )


def _window(therapist: Therapist, week: str | None, now: datetime) -> DigestWindow:
    from checkin.core import weekly

    if week is None:
        return weekly.latest_window(therapist, now)
    try:
        return weekly.window_for_week(therapist, week)
    except ValueError:
        raise click.BadParameter(f"{week!r} is not an ISO week such as 2026-W47") from None


@main.command()
@click.option("--at", "at", metavar="ISO-TIME", help="Pretend the clock says this time.")
@pass_context
def status(ctx: Context, at: str | None) -> None:
    """Upcoming check-ins per client, last sends and failures."""
    from checkin.jobs.status import report

    practice = ctx.practice()
    click.echo(report(practice, _database(practice), _clock(at).now()))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, per line.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def explain(as_json: bool, files: tuple[str, ...]) -> None:
    """Show how each raw message (.eml) is understood; touches no database and no config."""
    from checkin.jobs.explain import NotMail, explain_file

    failed = False
    for name in files:
        try:
            click.echo(explain_file(name, as_json))
        except OSError as exc:
            click.echo(f"{name}: cannot read: {exc.strerror or exc}", err=True)
            failed = True
        except NotMail as exc:
            click.echo(f"{name}: not a mail message that can be read ({exc})", err=True)
            failed = True
    if failed:
        sys.exit(1)


@main.group()
def client() -> None:
    """Pause, resume or stop one client's check-ins (as their own PAUSE/RESUME/STOP would)."""


@client.command("pause")
@click.argument("client_id")
@click.option("--until", "until", metavar="DATE", help="Resume by itself on this local date.")
@pass_context
def client_pause(ctx: Context, client_id: str, until: str | None) -> None:
    """No check-ins until DATE (in the client's zone), or until `checkin client resume`."""
    _set_status(ctx, client_id, "paused", until)


@client.command("resume")
@click.argument("client_id")
@pass_context
def client_resume(ctx: Context, client_id: str) -> None:
    """Start a paused or stopped client's check-ins again from the next one due."""
    _set_status(ctx, client_id, "active")


@client.command("stop")
@click.argument("client_id")
@pass_context
def client_stop(ctx: Context, client_id: str) -> None:
    """End a client's check-ins; only `checkin client resume` starts them again."""
    _set_status(ctx, client_id, "stopped")


@client.command("clear-bounce")
@click.argument("client_id")
@pass_context
def client_clear_bounce(ctx: Context, client_id: str) -> None:
    """Send to a client's addresses again after a bounce was fixed (mailbox full, typo...)."""
    practice, who = _client(ctx, client_id)
    engine = _database(practice)
    for address in who.emails:
        clients.clear_bouncing(engine, address)
    click.echo(f"{who.id}: no address marked as bouncing")


def _set_status(ctx: Context, client_id: str, status: str, until: str | None = None) -> None:
    practice, who = _client(ctx, client_id)
    end = _local_midnight(until, who.timezone) if until else None
    clients.set_status(_database(practice), who.id, status, SystemClock().now(), end)
    shown = {"paused": f"paused until {until}" if until else "paused until resumed"}
    click.echo(f"{who.id}: {shown.get(status, status)}")


def _client(ctx: Context, client_id: str) -> tuple[Practice, Client]:
    practice = ctx.practice()
    found = practice.client(client_id)
    if found is None:
        known = ", ".join(c.id for c in practice.clients) or "none"
        raise click.BadParameter(f"no client {client_id!r} in {ctx.path} (known: {known})")
    return practice, found


def _local_midnight(day: str, zone: ZoneInfo) -> datetime:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date such as 2027-01-03") from None
    return datetime.combine(parsed, time(0), zone).astimezone(UTC)


@main.group()
def review() -> None:
    """Messages that need a person (`checkin status` lists them by number)."""


@review.command("done")
@click.argument("messages", nargs=-1, required=True, type=int)
@click.option("--note", default=None, help="What was done about it, kept with the message.")
@pass_context
def review_done(ctx: Context, messages: tuple[int, ...], note: str | None) -> None:
    """Mark messages as dealt with: `checkin status` stops listing them; they stay stored."""
    from checkin.store.outcomes import mark_reviewed

    engine = _database(ctx.practice())
    failed = False
    for number in messages:
        outcome, reply = mark_reviewed(engine, number, SystemClock().now(), note)
        if outcome == "done":
            click.echo(f"message {number}: reviewed")
        elif outcome == "already" and reply and reply.reviewed_at:
            when = f"{reply.reviewed_at:%Y-%m-%d %H:%M} UTC"
            click.echo(f"message {number}: already reviewed on {when}")
        elif outcome == "not flagged":
            click.echo(f"message {number}: did not need review")
        else:
            click.echo(f"message {number}: no such message; `checkin status` lists them", err=True)
            failed = True
    if failed:
        sys.exit(1)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Apply the database migrations (also done at every start)."""
    practice = ctx.practice()
    _database(practice)
    click.echo("database is up to date.")


def _database(practice: Practice) -> Engine:
    engine = engine_for(practice.database)
    upgrade(engine)
    return engine


def _clock(at: str | None) -> Clock:
    if at is None:
        return SystemClock()
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(f"{at!r} is not an ISO time such as 2026-11-26T19:00Z") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{at!r} has no zone; add Z or an offset such as +00:00")
    return FixedClock(moment)


@main.command()
@click.option(
    "--out",
    "out",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Where to write the mail and digests [default: a new ./checkin-demo-output].",
)
@click.option(
    "--imap",
    type=click.Choice(["auto", "dovecot", "pymap"]),
    default="auto",
    show_default=True,
    help="The IMAP server: Dovecot where installed, else pymap (pip install 'checkin[demo]').",
)
@click.option("--keep", is_flag=True, help="Leave the servers running afterwards, until Ctrl-C.")
@pass_context
def demo(ctx: Context, out: str | None, imap: str, keep: bool) -> None:
    """Run a sample practice through two simulated weeks on loopback servers (no config needed)."""
    import logging
    import time as clock
    from pathlib import Path

    from checkin.demo import DemoSetupError
    from checkin.demo.output import OutputError, choose_folder
    from checkin.demo.run import Options, run_demo

    # The progress lines say what happens; the service's own log would only repeat it.
    quiet = logging.getLogger("checkin")
    level = quiet.level
    if not ctx.verbose:
        quiet.setLevel(logging.WARNING)
    try:
        folder = choose_folder(Path(out) if out else None, Path.cwd())
        run_demo(Options(folder, imap, keep), click.echo, lambda: clock.sleep(10**9))
    except (OutputError, DemoSetupError) as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        click.echo("Interrupted; every server the demo started has been stopped.", err=True)
        sys.exit(130)
    finally:
        quiet.setLevel(level)


if __name__ == "__main__":
    main()
