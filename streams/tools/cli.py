"""The `healthscore` command: worker, producer, local stack and demo."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import click

from streams.exceptions import (
    ApiUnreachable,
    BrokerUnavailable,
    HealthscoreError,
    LocalStackError,
    RedisUnavailable,
    StopSignal,
)
from streams.tools.cli_options import CustomerIdType, Day, NonBlank, one_line, settings_from_env

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from schemas.control import OverrideAction
    from schemas.model_config import Model
    from schemas.outputs import Tier
    from scoring.preview import Preview
    from streams.settings import Settings
    from streams.tools.datasets import EventLog

ROOT = Path(__file__).resolve().parents[2]  # the checkout: data/ and schemas/json/ live there
SAMPLE_EVENTS = ROOT / "data" / "sample_events.jsonl"
SCHEMA_DIR = ROOT / "schemas" / "json"


# -v count -> root log level. A command's own output is its answer; the Kafka client's
# connection chatter (about 20 INFO lines per `produce`) is for debugging, so it waits for -v.
LOG_LEVELS = {0: logging.WARNING, 1: logging.INFO}
# kafka-python logs each failed bootstrap attempt and then its timeout; a command reports that itself,
# on one line (BrokerUnavailable), so the client speaks only with -v.
KAFKA_LOG_LEVELS = {0: logging.CRITICAL + 1, 1: logging.INFO}

# One exit code per cause of failure, as docs/reference/cli.md#exit-codes lists them (a test keeps both equal).
# 1 is every other deliberate error (a bad setting, model file or dataset, an answer refused), 2 a usage error.
EXIT_CODES: dict[type[HealthscoreError], int] = {
    BrokerUnavailable: 3,
    RedisUnavailable: 4,
    ApiUnreachable: 5,
    LocalStackError: 6,
}


def exit_code(error: HealthscoreError) -> int:
    """The exit code of `error`'s cause; 1 for a cause without one of its own."""
    return next((code for cause, code in EXIT_CODES.items() if isinstance(error, cause)), 1)


class HealthscoreGroup(click.Group):
    """How every command ends when it does not finish its work.

    A deliberate healthscore error (a bad model file, no broker at the
    configured address) is one `Error:` line and its cause's exit code
    (EXIT_CODES); with -v its traceback comes first. Ctrl-C, and SIGTERM or
    SIGHUP while a local stack runs (StopSignal), end with 128 + the signal
    number, as a shell reports a process a signal ended: 130, 143, 129. By
    then whatever the command started has been stopped.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except HealthscoreError as exc:
            if ctx.params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            error = click.ClickException(str(exc))
            error.exit_code = exit_code(exc)
            raise error from exc
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, StopSignal) else signal.SIGINT
            click.echo(f"stopped by {signal.Signals(signum).name}", err=True)
            raise click.exceptions.Exit(128 + signum) from exc


@click.group(cls=HealthscoreGroup)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more: -v info, -vv debug (default: warnings and errors; `worker` has --loglevel).",
)
def main(verbose: int) -> None:
    """healthscore: event-driven customer health scores and churn-risk alerts."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(LOG_LEVELS.get(verbose, logging.DEBUG))
    logging.getLogger("kafka").setLevel(KAFKA_LOG_LEVELS.get(verbose, logging.DEBUG))


@main.command()
@click.option(
    "--loglevel",
    type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    default="info",
    show_default=True,
)
def worker(loglevel: str) -> None:
    """Run a scoring worker with HEALTHSCORE_* settings."""
    from streams.kafka.topics import ensure_topics
    from streams.snapshot.connections import check_redis
    from streams.worker.app import create_app
    from streams.worker.process import Worker

    logging.getLogger().setLevel(loglevel.upper())  # start-up (topics created) logs as the worker will
    settings = settings_from_env()
    service = create_app(settings)  # loads the model file first: a bad one stops here, on one line
    # Both within HEALTHSCORE_CONNECT_TIMEOUT_SECONDS, before Faust starts: a worker started against a wrong
    # address says so on one line instead of retrying in its log. (Once running, it rides out outages.)
    check_redis(settings)
    ensure_topics(settings)
    Worker(service.app, loglevel=loglevel).execute_from_commandline()


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", default=None, help="Send every line to this topic instead of routing by its kind.")
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="At most this many events per second."
)
@click.option(
    "--shift-to-now",
    "shift",
    is_flag=True,
    help="Move event times by one constant, gaps kept, so the newest is a minute before now.",
)
def produce(path: Path, topic: str | None, rate: float | None, shift: bool) -> None:
    """Publish events from a JSON-lines file, each to its kind's topic, keyed by customer_id."""
    from datetime import datetime, timezone

    from streams.tools.progress import progress
    from streams.tools.publish import publish, read_lines
    from streams.tools.timeshift import shift_to_now

    settings = settings_from_env()
    by = shift_to_now(read_lines(path), datetime.now(timezone.utc)) if shift else None
    if by is not None:
        click.echo(f"event times shifted by {by}: the newest is just before now")
    with progress("publishing", sum(1 for _ in read_lines(path))) as advance:  # counted first: a total to show
        report = publish(read_lines(path, by), settings, topic=topic, rate=rate, advance=advance)
    for name, count in sorted(report.sent.items()):
        click.echo(f"{name}: {count}")
    for reason in report.skipped:
        click.echo(f"skipped {reason}", err=True)
    click.echo(f"published {report.total} events")


@main.command()
@click.argument("customer_id", type=CustomerIdType())
@click.option(
    "--reason", type=NonBlank(), required=True, help="Why, for the audit trail (e.g. the reference of the request)."
)
def erase(customer_id: str, reason: str) -> None:
    """Forget a customer (data-protection request): state, Redis snapshot, future scores."""
    import uuid
    from datetime import datetime, timezone

    from pydantic import ValidationError

    from schemas.control import ErasureRequest
    from streams.tools.publish import send_request

    try:
        request = ErasureRequest(
            request_id=str(uuid.uuid4()),
            customer_id=customer_id,
            requested_at=datetime.now(timezone.utc),
            reason=reason,
        )
    except ValidationError as exc:
        raise click.UsageError(one_line(exc, {"customer_id": "CUSTOMER_ID", "reason": "--reason"})) from exc
    settings = settings_from_env()
    send_request(settings.topic_erasures, request, settings)
    click.echo(f"erasure request {request.request_id} sent to {settings.topic_erasures}")


@main.command()
@click.argument("customer_id", type=CustomerIdType())
@click.option(
    "--since", default=None, help="First day (YYYY-MM-DD) or instant with its zone (default: the oldest kept)."
)
@click.option("--until", default=None, help="Last day (YYYY-MM-DD, included) or instant with its zone (default: now).")
@click.option(
    "--url", default=None, help="A worker's HTTP API (default: http://HEALTHSCORE_WEB_HOST:HEALTHSCORE_WEB_PORT)."
)
@click.option(
    "--token",
    envvar="HEALTHSCORE_API_TOKEN",
    default=None,
    show_envvar=True,
    help="Bearer token of the API, when it has one.",
)
@click.option(
    "--rows",
    type=click.IntRange(min=0),
    default=40,
    show_default=True,
    help="Newest points listed under the chart (0: all).",
)
def history(
    customer_id: str, since: str | None, until: str | None, url: str | None, token: str | None, rows: int
) -> None:
    """Print a customer's score history (every change, then one point a day) with a small chart."""
    from pydantic import ValidationError
    from rich.console import Console

    from schemas.api import HistoryQuery
    from streams.tools.history import fetch_history, show_history

    try:  # a bad bound is a usage error, found before anything connects
        HistoryQuery(since=since, until=until)
    except ValidationError as exc:
        raise click.UsageError(one_line(exc, {"since": "--since", "until": "--until"})) from exc
    if url is None:
        settings = settings_from_env()
        host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::", "") else settings.web_host
        url = f"http://{host}:{settings.web_port}"
    show_history(Console(), fetch_history(url, customer_id, since, until, token), rows)


# The override's fields, by the option that sets them, for errors the model still finds.
OVERRIDE_OPTIONS = {
    "customer_id": "CUSTOMER_ID",
    "score": "--pin-score",
    "tier": "--pin-tier",
    "adjustment": "--adjust",
    "reason": "--reason",
    "author": "--author",
    "expires_at": "--days",
}
# Overrides always end; a longer one is a change to the model, not a correction of one customer.
MAX_OVERRIDE_DAYS = 3650


@main.command()
@click.argument("customer_id", type=CustomerIdType())
@click.option("--pin-score", type=click.FloatRange(0, 100), default=None, help="Show this score (tier follows).")
@click.option(
    "--pin-tier",
    type=click.Choice(["healthy", "watch", "at_risk", "critical"]),
    default=None,
    help="Show this tier; the score stays the model's.",
)
@click.option("--adjust", type=click.FloatRange(-30, 30), default=None, help="Add these points to the model's score.")
@click.option("--clear", is_flag=True, help="End the customer's active override now.")
@click.option("--reason", type=NonBlank(), required=True, help="Why; shown with the score and kept on the audit topic.")
@click.option("--author", type=NonBlank(), required=True, help="Who; shown with the score and kept on the audit topic.")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True, max=MAX_OVERRIDE_DAYS),
    default=14.0,
    show_default=True,
    help="How long the override lasts; it always ends.",
)
def override(
    customer_id: str,
    pin_score: float | None,
    pin_tier: Tier | None,
    adjust: float | None,
    clear: bool,
    reason: str,
    author: str,
    days: float,
) -> None:
    """Correct a customer's score by hand, with a reason, an author and an expiry (or --clear one)."""
    import uuid
    from datetime import datetime, timedelta, timezone

    from pydantic import ValidationError

    from schemas.control import OverrideRequest
    from streams.tools.publish import send_request

    chosen: dict[OverrideAction, object] = {
        "pin_score": pin_score,
        "pin_tier": pin_tier,
        "adjust": adjust,
        "clear": clear or None,
    }
    actions = [name for name, value in chosen.items() if value is not None]
    if len(actions) != 1:
        raise click.UsageError("give exactly one of --pin-score, --pin-tier, --adjust, --clear")
    now = datetime.now(timezone.utc)
    action = actions[0]
    try:
        request = OverrideRequest(
            request_id=str(uuid.uuid4()),
            customer_id=customer_id,
            action=action,
            reason=reason,
            author=author,
            requested_at=now,
            expires_at=None if clear else now + timedelta(days=days),
            score=pin_score,
            tier=pin_tier,
            adjustment=adjust,
        )
    except ValidationError as exc:
        raise click.UsageError(one_line(exc, OVERRIDE_OPTIONS)) from exc
    settings = settings_from_env()
    send_request(settings.topic_overrides, request, settings)
    click.echo(f"override request {request.request_id} ({action}) sent to {settings.topic_overrides}")


@main.command()
@click.option(
    "--events",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=SAMPLE_EVENTS,
    show_default=True,
    help="JSON-lines events to replay.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the stack keeps logs (default: a new temporary folder).",
)
@click.option("--show", "shown", type=click.IntRange(min=0), default=15, show_default=True, help="Rows per table.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="Events published per second; a worker that keeps up sees the topics in step.",
)
def demo(events: Path, workdir: Path | None, shown: int, rate: float) -> None:
    """Start a local broker and Redis, run a worker, replay events, print scores and alerts, stop."""
    from streams.tools.demo import run_demo

    run_demo(events, workdir or Path(tempfile.mkdtemp(prefix="healthscore-demo-")), shown=shown, rate=rate)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=SCHEMA_DIR, show_default=True)
@click.option("--check", is_flag=True, help="Write nothing; fail if a file is missing or differs from the models.")
def schemas(out: Path, check: bool) -> None:
    """Write the JSON Schema of every event, output and the scoring-model file, one file per model."""
    from schemas.json_schema import json_schemas

    stale = []
    for name, text in json_schemas().items():
        path = out / name
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        click.echo(f"wrote {path}")
    if stale:
        raise click.ClickException(f"out of date in {out}: {', '.join(stale)}; run `healthscore schemas`")


DATASET_HELP = "`cdnow` (the CDNOW purchase log shipped in the lifetimes wheel) or a JSON-lines file of events."


def events_of(dataset: str) -> EventLog:
    """The --dataset's valid events, saying on stderr how many invalid lines were skipped.

    A missing file, or one without a single valid event, is a one-line error.
    """
    from streams.tools.datasets import load_events

    try:
        log = load_events(dataset)
    except OSError as exc:
        raise click.ClickException(f"--dataset: {exc}") from exc
    note = log.skipped_note()
    if not log.events:
        raise click.ClickException(f"--dataset: {dataset} has no valid event" + (f"; {note}" if note else ""))
    if note:
        click.echo(f"{dataset}: {note}, as the worker would dead-letter them", err=True)
    return log


@main.command()
@click.option("--dataset", default="cdnow", show_default=True, help=DATASET_HELP)
@click.option(
    "--cutoff", type=Day(), default="1997-09-30", show_default=True, help="Last day of the calibration period."
)
@click.option("--holdout-end", type=Day(), default="1998-06-30", show_default=True, help="Last day of the holdout.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Scoring-model TOML file (default: the built-in model).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the ROC curve and churn rate by score decile to this PNG.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object on stdout.")
def backtest(
    dataset: str, cutoff: str, holdout_end: str, model_path: Path | None, plot: Path | None, as_json: bool
) -> None:
    """How well the score at CUTOFF predicts churn (no purchase) up to HOLDOUT_END, against BG/NBD and RFM."""
    import json

    from rich.console import Console

    from schemas.model_config import ScoringModel
    from streams.tools.backtest import run_backtest, show_report, split_of
    from streams.worker.model_file import load_model

    if holdout_end <= cutoff:
        raise click.UsageError("--holdout-end must be after --cutoff: churn is read from the days between them")
    console = Console(stderr=as_json)
    model = load_model(model_path)  # before the dataset: a bad file is found without reading a large log
    if not isinstance(model, ScoringModel):
        raise click.UsageError(
            f"--model: {model_path} holds several models ([models]); backtest takes one (preview takes both kinds)"
        )
    log = events_of(dataset)
    report = run_backtest(log.events, split_of(cutoff, holdout_end), model, plot, show=not as_json)
    report["dataset"], report["skipped_lines"] = dataset, log.skipped
    if as_json:
        click.echo(json.dumps(report))
    else:
        show_report(console, report)
        if plot:
            console.print(f"plot written to {plot}")


def _inclusive(cutoff: str | None, holdout_end: str | None) -> tuple[datetime | None, datetime | None]:
    """Day bounds as people write them, the same as `healthscore backtest` reads them."""
    from streams.tools.backtest import split_of

    if cutoff is None:
        return None, None
    split = split_of(cutoff, holdout_end or cutoff)
    return split.cutoff, split.holdout_end if holdout_end else None


@main.command()
@click.option(
    "--candidate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The model file to try.",
)
@click.option(
    "--current",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The model file in use (default: HEALTHSCORE_MODEL_PATH, else the built-in model).",
)
@click.option("--dataset", default="cdnow", show_default=True, help=DATASET_HELP)
@click.option(
    "--cutoff", type=Day(), default=None, help="Compare as of the end of this day (default: the end of the log)."
)
@click.option(
    "--holdout-end",
    type=Day(),
    default=None,
    help="With --cutoff: churn (no purchase) after the cutoff up to this day (inclusive), for both AUCs.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Compare on every customer state the running workers hold (read through their API), not a log.",
)
@click.option(
    "--url",
    default=None,
    help="With --live: any worker's API (default: HEALTHSCORE_WEB_CANONICAL_URL, else WEB_HOST:WEB_PORT).",
)
@click.option("--token", default=None, help="With --live: the API token (default: HEALTHSCORE_API_TOKEN).")
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write both distributions (PNG)."
)
@click.option("--show", "shown", type=click.IntRange(min=0), default=15, show_default=True, help="Tier changes listed.")
@click.pass_context
def preview(
    ctx: click.Context,
    candidate: Path,
    current: Path | None,
    dataset: str,
    cutoff: str | None,
    holdout_end: str | None,
    live: bool,
    url: str | None,
    token: str | None,
    plot: Path | None,
    shown: int,
) -> None:
    """Before go-live: a candidate model next to the current one on an event log or the live states."""
    from rich.console import Console

    from streams.tools.preview import draw_preview, run_preview, show_preview
    from streams.worker.model_file import load_model

    given = {
        name
        for name in ("dataset", "cutoff", "holdout_end", "url", "token")
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }
    if live and given & {"dataset", "cutoff", "holdout_end"}:
        raise click.UsageError("--dataset, --cutoff and --holdout-end belong to the log preview, not --live")
    if not live and given & {"url", "token"}:
        raise click.UsageError("--url and --token need --live")
    if holdout_end and not cutoff:
        raise click.UsageError("--holdout-end needs --cutoff: churn is read from the days between them")
    if holdout_end and cutoff and holdout_end <= cutoff:  # a missing cutoff was refused above
        raise click.UsageError("--holdout-end must be after --cutoff: churn is read from the days between them")
    console = Console()
    settings = settings_from_env()
    current_model = load_model(current or settings.model_path)
    if live:
        result = _live_preview(console, settings, current_model, load_model(candidate), url, token)
    else:
        result = run_preview(
            events_of(dataset).events, current_model, load_model(candidate), *_inclusive(cutoff, holdout_end), show=True
        )
    show_preview(console, result, shown)
    if plot:
        draw_preview(plot, result)
        console.print(f"plot written to {plot}")


def _live_preview(
    console: Console, settings: Settings, current: Model, candidate: Model, url: str | None, token: str | None
) -> Preview:
    """Read the workers' states, say what was read and at which moment, warn when they run another model."""
    from pydantic import SecretStr

    from scoring.model_choice import label
    from streams.tools.live_states import default_url
    from streams.tools.preview import run_live_preview

    url = url or default_url(settings)
    secret = SecretStr(token) if token else settings.api_token
    result, live, now = run_live_preview(url, secret, current, candidate)
    running = label(current)
    if live.models and live.models != {running}:
        click.echo(
            f"warning: the workers score with {', '.join(sorted(live.models))}, not {running} (--current): "
            "the comparison is against another model than the one running",
            err=True,
        )
    console.print(
        f"{len(live.states):,} customers read from {len(live.workers)} worker(s), {live.partitions} "
        f"partitions, through {url}; scored as of {now.isoformat()}",
        soft_wrap=True,
    )
    return result


@main.command()
@click.argument("kind", type=click.Choice(["scores", "alerts", "deadletter", "audit"]))
@click.option(
    "--customer",
    type=CustomerIdType(),
    default=None,
    help="Only this customer's records (a dead letter's: the key of the record it kept).",
)
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record the topic keeps, not its end.")
@click.option("--json", "as_json", is_flag=True, help="Print each record's value as it is, one JSON object per line.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after this many records.")
def tail(kind: str, customer: str | None, from_beginning: bool, as_json: bool, limit: int | None) -> None:
    """Follow an output topic and print its records as they come (no consumer group), until Ctrl-C or --limit."""
    from rich.console import Console

    from streams.tools.localstack import StopOnSignals
    from streams.tools.render import render
    from streams.tools.tail import TailRequest, raw_json
    from streams.tools.tail import tail as follow

    console = Console(highlight=False, emoji=False, soft_wrap=True)
    tones = {"good": "green", "warn": "yellow", "bad": "red", None: None}

    def show(key: bytes | None, value: bytes | None) -> None:
        if as_json:
            click.echo(raw_json(value))  # click flushes each line: a pipe gets it as it comes
            return
        line = render(kind, key, value)
        console.print(line.text, style=tones[line.tone], markup=False)

    def ready(what: str) -> None:
        click.echo(f"{what}; Ctrl-C to stop" if limit is None else f"{what}; up to {limit} records", err=True)

    with StopOnSignals():  # SIGTERM and SIGHUP end it as Ctrl-C does: the consumer is closed, exit 128 + signal
        follow(settings_from_env(), TailRequest(kind, customer, from_beginning, limit), show, ready)


@main.command()
@click.option("--dataset", default="cdnow", show_default=True, help=DATASET_HELP)
@click.option(
    "--label-cutoff",
    type=Day(),
    default="1997-06-30",
    show_default=True,
    help="Last day whose state is fitted; churn is read from the days after it up to --cutoff.",
)
@click.option(
    "--cutoff", type=Day(), default="1997-09-30", show_default=True, help="Last day of the calibration period."
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Model to start from (default: the built-in model).",
)
@click.option("--name", type=NonBlank(), default="calibrated", show_default=True, help="Name of the fitted model.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Model file to write.")
def calibrate(dataset: str, label_cutoff: str, cutoff: str, model_path: Path | None, name: str, out: Path) -> None:
    """Fit weights and normalisers on the calibration period only and write a scoring-model file."""
    from schemas.model_config import ScoringModel
    from streams.tools.backtest import run_calibration, split_of, write_model
    from streams.worker.model_file import load_model

    if cutoff <= label_cutoff:
        raise click.UsageError("--cutoff must be after --label-cutoff: churn is read from the days between them")
    base = load_model(model_path)  # before the dataset: a bad file is found without reading a large log
    if not isinstance(base, ScoringModel):
        raise click.UsageError(f"--model: {model_path} holds several models ([models]); calibrate starts from one")
    model, auc, customers = run_calibration(
        events_of(dataset).events, split_of(label_cutoff, cutoff), base, name, show=True
    )
    write_model(model, out)
    click.echo(f"fitted on {customers:,} customers at {label_cutoff}, churn up to {cutoff}: training AUC {auc:.4f}")
    click.echo(f"wrote {out} ({model.name}@{model.version})")


@main.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None)
def stack(workdir: Path | None) -> None:
    """Run a local broker and Redis until Ctrl-C (or SIGTERM, SIGHUP), printing the settings that point at them."""
    from streams.tools.demo import SEGMENTED
    from streams.tools.localstack import local_stack

    workdir = workdir or Path(tempfile.mkdtemp(prefix="healthscore-stack-"))
    with local_stack(workdir) as running:
        for key, value in running.shell_env(SEGMENTED).items():  # the demo's model: the walk-through shows the same
            click.echo(f"export {key}={value}")
        while all(p.poll() is None for p in running.processes.values()):
            time.sleep(0.5)
        exited = ", ".join(
            f"{name} (exit code {p.returncode})" for name, p in running.processes.items() if p.poll() is not None
        )
        raise LocalStackError(f"{exited} stopped by itself; its log is in {workdir}")


if __name__ == "__main__":
    main()
