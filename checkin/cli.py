"""The `checkin` command. Each sub-command validates the practice file, then calls one job."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine

from checkin import config, logs
from checkin.clock import Clock, FixedClock, SystemClock
from checkin.errors import ConfigError
from checkin.practice import Client, Practice
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
@pass_context
def run(ctx: Context) -> None:
    """Run the service: schedule and send, reloading the practice file when it changes."""
    from checkin.jobs.scheduler import LiveConfig, Service

    practice = ctx.practice()
    _database(practice)
    Service(LiveConfig(ctx.path, practice), SystemClock()).run()


@main.command()
@click.option("--at", "at", metavar="ISO-TIME", help="Pretend the clock says this time.")
@pass_context
def status(ctx: Context, at: str | None) -> None:
    """Upcoming check-ins per client, last sends and failures."""
    from checkin.jobs.status import report

    practice = ctx.practice()
    click.echo(report(practice, _database(practice), _clock(at).now()))


@main.group()
def client() -> None:
    """Pause, resume or stop one client's check-ins (as their own PAUSE/RESUME/STOP would)."""


@client.command("pause")
@click.argument("client_id")
@click.option("--until", "until", metavar="DATE", help="Resume by itself on this local date.")
@pass_context
def client_pause(ctx: Context, client_id: str, until: str | None) -> None:
    """No check-ins until DATE (in the client's zone), or until `checkin client resume`."""
    practice, who = _client(ctx, client_id)
    end = _local_midnight(until, who.timezone) if until else None
    clients.set_status(_database(practice), who.id, "paused", SystemClock().now(), end)
    click.echo(f"{who.id}: paused" + (f" until {until}" if until else " until resumed"))


@client.command("resume")
@click.argument("client_id")
@pass_context
def client_resume(ctx: Context, client_id: str) -> None:
    """Start a paused or stopped client's check-ins again from the next one due."""
    practice, who = _client(ctx, client_id)
    clients.set_status(_database(practice), who.id, "active", SystemClock().now())
    click.echo(f"{who.id}: active")


@client.command("stop")
@click.argument("client_id")
@pass_context
def client_stop(ctx: Context, client_id: str) -> None:
    """End a client's check-ins; only `checkin client resume` starts them again."""
    practice, who = _client(ctx, client_id)
    clients.set_status(_database(practice), who.id, "stopped", SystemClock().now())
    click.echo(f"{who.id}: stopped")


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


if __name__ == "__main__":
    main()
