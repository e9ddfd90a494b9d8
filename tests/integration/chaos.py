"""Seeded chaos: two workers, a paced stream and faults on a schedule; every event checked against the offline replay.

Why (issue 27): the fault tests each inject one fault into a quiet worker.
Failover defects show when faults land on a group under load: a paused
worker coming back as a zombie, a takeover right after a restart, a kill
during a rebalance, Redis stalling meanwhile. This harness runs them all on
one stream and says precisely what went wrong, event by event.

The reference is exact: every customer sends all of its events on one input
topic (customers are split across purchases, visits, tickets and surveys),
so each customer's order is fixed by its partition and
`scoring.replay.replay` of the published order is what the workers must
publish, whatever was redelivered (tests/integration/exactness.py does the
same for purchases alone).

A run (`run_chaos`): a second worker joins the first (a Deployment of the
`deploy` fixture, or `deploy_worker` outside pytest); a publisher thread
sends the seeded events paced, keyed by customer; the calling thread carries
out the seeded fault schedule and restarts any worker that died by itself;
then it waits until every expected update has arrived (or the group has
committed every input record and nothing more comes), until Redis stops
changing, and checks:

- lost: an update the replay publishes that never arrived;
- conflicting: two different updates for one event_id;
- wrong: an update that differs from the replay's (or one the replay has not);
- redis: a customer's snapshot hash (score, tier, event_id) against the
  replay's last update of the customer;
- changelog: the newest state record per customer against the replay's
  final state (missing, lacking events, unequal);
- alerts: alerts lost, unexpected or differing (ids are stable);
- deadletters: every event is valid, so any dead letter is wrong;
- crashes: a worker that exited by itself, and `Crashed`, `ConsistencyError`
  and tracebacks in the workers' logs;
- stalls: within TAKEOVER_TIMEOUT (with a 2 s session timeout these take
  seconds) no takeover of a paused or killed worker's partitions, no rejoin
  of a continued zombie, no stable split of the partitions; or a group that
  did not catch up with the stream, or stopped committing its offsets.

Each check counts and keeps a few examples. A failure of the harness itself
(publishing failed, an exception in a fault) is reported apart, as such.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import re
import signal
import subprocess
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas.events import Event
from schemas.model_config import ScoringModel
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate
from scoring.replay import replay
from scoring.state import CustomerState, already_seen
from streams.kafka.codecs import decode_state
from streams.kafka.topics import ensure_topics, topic_reader
from streams.settings import Settings
from streams.snapshot.keys import customer_key
from streams.state.tables import STATE_TABLE
from streams.tools.localstack import LocalStack, free_port, stop_process
from tests.factories import published, purchase, survey, ticket, visit
from tests.integration.conftest import Deployment
from tests.integration.workers import assigned, committed_offsets, isolated_env, read_all
from tests.paths import ROOT
from tests.waiting import until, watch

# Each customer's events are all of one kind, so all on one topic (the replay is then exact).
KINDS = ("purchase", "visit", "ticket", "survey")
# The timer would score customers on the wall clock, which no replay can reproduce.
CHAOS_ENV = {"HEALTHSCORE_INACTIVITY_TIMER": "false", "HEALTHSCORE_CLOCK": "event"}

PACE_SECONDS = 0.2  # the publisher sends one chunk this often
# Faults start a second into the stream (a kill before the group's first offset commit, after 2.8 s, is one
# to try) ...
FIRST_FAULT_SECONDS = 1.0
LAST_FAULT_SHARE = 0.8  # ... and are planned before this share of the stream is over
JOIN_TIMEOUT = 120.0  # two workers starting on a busy 2-core machine take 10-30 s to share the partitions
EXIT_TIMEOUT = 45.0  # a SIGTERM'd worker exits within its shutdown_timeout (30 s)
TAKEOVER_TIMEOUT = 30.0  # a takeover of every partition took 3-10 s here; longer is a stalled group
ZOMBIE_EXTRA_SECONDS = 3.0  # the paused worker stays stopped this long after the other took everything
REDIS_PAUSE_SECONDS = 10.0
QUIET_SECONDS = 5.0  # no new update for this long, with every input record committed: the run has settled
UNCOMMITTED_QUIET_SECONDS = 20.0  # every update in, none for this long, but offsets behind: settled all the same
REDIS_STABLE_SECONDS = 5.0  # flushes run every 0.2 s: 5 s without a change means none is coming
REDIS_TIMEOUT = 30.0
EXAMPLES = 5
LOG_ALARMS = ("Traceback", "Crashed", "ConsistencyError")
# Faust's log lines at a new assignment and once its recovery is over (the worker scores from then on).
ASSIGNED = "Setting newly assigned partitions"
READY = "Worker ready"
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")
CHECKS = ("lost", "conflicting", "wrong", "redis", "changelog", "alerts", "deadletters", "crashes", "stalls")


# ---------------------------------------------------------------------------------------------------------------
# The stream and its reference


def chaos_events(seed: int, customers: int, events: int) -> list[Event]:
    """`events` valid events of `customers` customers in a seeded publish order, each customer's in time order.

    Customer n is of kind KINDS[n % 4] and sends only that kind; the
    interleaving of customers is random, their own order never is.
    """
    rng = random.Random(seed)
    counts = [1] * customers
    for _ in range(max(0, events - customers)):
        counts[rng.randrange(customers)] += 1
    ids = (f"chaos{seed}-{n:07d}" for n in itertools.count())
    per_customer = []
    for n, count in enumerate(counts):
        kind = KINDS[n % len(KINDS)]
        days = list(itertools.accumulate(rng.uniform(0.5, 15.0) for _ in range(count)))
        per_customer.append(BUILDERS[kind](rng, f"chaos{seed}-{kind}-{n:05d}", days, ids))
    slots = sorted((rng.random(), n) for n, mine in enumerate(per_customer) for _ in mine)
    taken = [0] * customers
    order = []
    for _, n in slots:
        order.append(per_customer[n][taken[n]])
        taken[n] += 1
    return order


def _purchases(rng: random.Random, customer: str, days: list[float], ids: Iterable[str]) -> list[Event]:
    return [purchase(customer, day, round(rng.uniform(5.0, 400.0), 2), event_id=eid) for day, eid in zip(days, ids)]


def _visits(rng: random.Random, customer: str, days: list[float], ids: Iterable[str]) -> list[Event]:
    return [visit(customer, day, round(rng.uniform(10.0, 3600.0), 1), event_id=eid) for day, eid in zip(days, ids)]


def _tickets(rng: random.Random, customer: str, days: list[float], ids: Iterable[str]) -> list[Event]:
    """Tickets opened and later resolved (about 60% of the time when one is open), complaints among them."""
    out: list[Event] = []
    open_ids: list[str] = []
    for n, (day, eid) in enumerate(zip(days, ids)):
        if open_ids and rng.random() < 0.6:
            out.append(ticket(customer, day, open_ids.pop(0), "resolved", event_id=eid))
            continue
        open_ids.append(f"T-{n}")
        out.append(
            ticket(
                customer,
                day,
                open_ids[-1],
                "opened",
                rng.choice(["low", "normal", "high", "urgent"]),
                rng.choice(["question", "bug", "billing", "complaint", "other"]),
                event_id=eid,
            )
        )
    return out


def _surveys(rng: random.Random, customer: str, days: list[float], ids: Iterable[str]) -> list[Event]:
    out: list[Event] = []
    for day, eid in zip(days, ids):
        kind = rng.choice(["csat", "nps"])
        out.append(survey(customer, day, kind, rng.randint(1, 5) if kind == "csat" else rng.randint(0, 10), eid))
    return out


BUILDERS: dict[str, Callable[[random.Random, str, list[float], Iterable[str]], list[Event]]] = {
    "purchase": _purchases,
    "visit": _visits,
    "ticket": _tickets,
    "survey": _surveys,
}


@dataclass
class Reference:
    """The offline replay of the published order: what the workers must publish and store."""

    updates: dict[str, ScoreUpdate]  # by event_id; events whose replay publishes no update are absent
    last_update: dict[str, ScoreUpdate]  # by customer
    states: dict[str, CustomerState]
    alerts: dict[str, ChurnRiskAlert]  # by alert_id
    events_of: dict[str, list[str]]  # customer -> event ids, in order
    customer_of: dict[str, str]  # event id -> customer


def reference(events: Sequence[Event]) -> Reference:
    expected = replay(events, ScoringModel())
    updates: list[ScoreUpdate] = published(expected.updates)
    alerts: list[ChurnRiskAlert] = published(expected.alerts)
    events_of: dict[str, list[str]] = defaultdict(list)
    for e in events:
        events_of[e.customer_id].append(e.event_id)
    return Reference(
        updates={u.event_id: u for u in updates if u.event_id is not None},
        last_update={u.customer_id: u for u in updates},
        states=expected.states,
        alerts={a.alert_id: a for a in alerts},
        events_of=dict(events_of),
        customer_of={e.event_id: e.customer_id for e in events},
    )


def scoring_digest() -> str:
    """A digest of the code and model the offline replay and the workers score with.

    The reference is computed once, in this process, and each worker loads
    the code when it starts: an edit of either during a run would show as
    wrong updates that no fault caused.
    """
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("scoring/**/*.py"), *ROOT.glob("schemas/**/*.py"), *ROOT.glob("models/**/*")]):
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# The schedule


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the stream started
    kind: str  # a key of FAULTS
    worker: int  # 0 or 1: the worker it hits first (a Redis stop hits none)
    delay: float  # seconds before a killed or stopped worker is started again
    gap: float  # kill-9-in-rebalance: seconds between the restart and the kill of the survivor; / 20: after a chunk

    def __str__(self) -> str:
        who = "" if self.kind == "redis-stop" else f" worker {'ab'[self.worker]}"
        restart = "" if self.kind in ("redis-stop", "zombie") else f" (restart after {self.delay:.1f}s)"
        return f"{self.at:.1f}s {self.kind}{who}{restart}"


# What issue 27 ran. The CI size runs one of each kind it names, plus one of EXTRA_FAULTS, and a second zombie:
# a pause does harm only when it catches a batch under way and the other worker then wins the race to the
# changelog, Redis or the partitions; one pause per run showed a defect in about half the runs, two in more.
ISSUE_FAULTS = (
    "kill-9",
    "kill-9",
    "kill-9",
    "sigterm",
    "zombie",
    "redis-stop",
    "kill-9-in-rebalance",
    "takeover-after-restart",
)
CI_FAULTS = ("zombie", "zombie", "kill-9", "sigterm", "redis-stop")
EXTRA_FAULTS = ("kill-9-in-rebalance", "takeover-after-restart")


def ci_faults(seed: int) -> tuple[str, ...]:
    return (*CI_FAULTS, random.Random(f"extra-{seed}").choice(EXTRA_FAULTS))


def chaos_schedule(seed: int, seconds: float, kinds: Sequence[str]) -> list[Fault]:
    """The faults in a seeded order and at seeded times, one per equal slot of the stream's first 80%."""
    rng = random.Random(f"schedule-{seed}")
    order = list(kinds)
    rng.shuffle(order)
    end = max(FIRST_FAULT_SECONDS + 1.0, seconds * LAST_FAULT_SHARE)
    width = (end - FIRST_FAULT_SECONDS) / max(1, len(order))
    return [
        Fault(
            round(FIRST_FAULT_SECONDS + i * width + rng.uniform(0.0, width * 0.6), 1),
            kind,
            rng.randrange(2),
            round(rng.uniform(0.5, 3.0), 1),
            round(rng.uniform(0.3, 1.0), 1),
        )
        for i, kind in enumerate(order)
    ]


# ---------------------------------------------------------------------------------------------------------------
# Workers


def deploy_worker(stack: LocalStack, datadir_root: Path, **overrides: str) -> Deployment:
    """A worker on fresh topics, group and Redis prefix, as the `deploy` fixture starts one (for use outside pytest)."""
    env = isolated_env(datadir_root, "chaos", **overrides)
    settings = Settings.from_env(stack.env() | env)
    ensure_topics(settings)
    name = f"worker-{env['HEALTHSCORE_APP_ID'].removeprefix('chaos-')}"
    process = stack.start_worker(name, env)
    return Deployment(stack, settings, process, stack.workdir / f"{name}.log", env, name)


class Journal:
    """What the harness did, with times since the stream started, printed as it happens."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.lines: list[str] = []
        self.started = time.monotonic()
        self.wall_started = time.time()
        self._out = out

    def start(self) -> None:
        self.started, self.wall_started = time.monotonic(), time.time()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def note(self, message: str) -> None:
        line = f"{self.elapsed():6.1f}s {message}"
        self.lines.append(line)
        self._out(f"[chaos] {line}")


@dataclass
class Incarnation:
    process: subprocess.Popen
    log_mark: int  # bytes in the log before it started: its own lines come after
    ended_by: str | None = None  # the signal the harness ended it with; "itself" when it died on its own
    stopped: bool = False  # SIGSTOPped and not yet continued


@dataclass
class Member:
    """One worker of the group, across its restarts (same name, env and datadir: RocksDB state is reused)."""

    label: str
    name: str
    env: dict[str, str]
    stack: LocalStack
    incarnations: list[Incarnation] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.stack.workdir / f"{self.name}.log"

    @property
    def current(self) -> Incarnation:
        return self.incarnations[-1]

    @property
    def pid(self) -> int:
        return self.current.process.pid

    def start(self) -> None:
        mark = self.log.stat().st_size if self.log.exists() else 0
        self.incarnations.append(Incarnation(self.stack.start_worker(self.name, self.env), mark))

    def log_since(self, mark: int) -> str:
        with self.log.open("rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def holds(self, topic: str, since: int | None = None) -> set[int]:
        """Partitions of `topic` in the newest assignment this incarnation logged (after `since`, if given)."""
        if self.current.process.poll() is not None:
            return set()
        return assigned(self.log_since(self.current.log_mark if since is None else since), topic)

    def scoring(self, topic: str) -> bool:
        """It holds partitions of `topic` and has recovered their state since its newest assignment: it is scoring."""
        text = self.log_since(self.current.log_mark)
        return bool(self.holds(topic)) and READY in text.rpartition(ASSIGNED)[2]


class Cluster:
    """The two workers; every wait here also restarts a worker that died without the harness's doing."""

    def __init__(self, first: Deployment, datadir: Path, journal: Journal) -> None:
        self.stack = first.stack
        self.settings = first.settings
        self.topic = first.settings.topic_purchases  # inputs are co-partitioned: one topic shows the assignment
        self.partitions = set(range(first.settings.partitions))
        self.journal = journal
        a = Member("a", first.name, first.env, first.stack, [Incarnation(first.process, 0)])
        other_env = {**first.env, "HEALTHSCORE_WEB_PORT": str(free_port()), "HEALTHSCORE_DATADIR": str(datadir / "b")}
        b = Member("b", f"{first.name}-b", other_env, first.stack)
        self.members = [a, b]
        self.crashes: list[Finding] = []
        self.stalls: list[Finding] = []
        self.exit_codes: list[str] = []  # "b SIGTERM -> 0", ...
        self.chunk_sent: threading.Event | None = None  # the publisher's, while it runs

    def busy_moment(self, after: float) -> None:
        """Return `after` seconds past the next chunk the publisher sends: the workers are then fetching and
        scoring it (a batch's outputs and states take tens of milliseconds on the local broker)."""
        if self.chunk_sent is not None:
            self.chunk_sent.clear()
            if self.chunk_sent.wait(2 * PACE_SECONDS):
                time.sleep(after)  # a fault's timing, not a synchronisation

    def start(self) -> None:
        self.members[1].start()
        self.journal.note(f"worker a pid {self.members[0].pid}, worker b pid {self.members[1].pid}")

    def supervise(self) -> None:
        """Restart a worker that exited by itself, as a service manager would, and record it as a crash."""
        for m in self.members:
            code = m.current.process.poll()
            if code is None or m.current.ended_by is not None:
                continue
            m.current.ended_by = "itself"
            self.exit_codes.append(f"{m.label} exited by itself -> {code}")
            self.crashes.append(
                Finding(
                    "",
                    "",
                    f"worker {m.label} (pid {m.pid}) exited by itself",
                    "running",
                    f"exit code {code}; log: {last_alarm(m.log_since(m.current.log_mark))}",
                )
            )
            self.journal.note(f"worker {m.label} (pid {m.pid}) EXITED BY ITSELF with code {code}; restarting it")
            m.start()

    def wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """True once `condition()` holds, False after `timeout` seconds; supervising meanwhile."""
        return until(lambda: self.supervise() or condition(), timeout, interval=0.2)

    def pause(self, seconds: float) -> None:
        """Let `seconds` pass (a fault's own duration, not a synchronisation), supervising meanwhile."""
        self.wait(lambda: False, seconds)

    def end(self, m: Member, sig: signal.Signals) -> None:
        """Send `sig` to the worker and wait until it has exited (SIGKILL after EXIT_TIMEOUT)."""
        m.current.ended_by = sig.name
        m.current.process.send_signal(sig)
        if not self.wait(lambda: m.current.process.poll() is not None, EXIT_TIMEOUT):
            self.journal.note(f"worker {m.label} did not exit {EXIT_TIMEOUT:.0f}s after {sig.name}: SIGKILL")
            m.current.process.kill()
            m.current.process.wait(10)
        code = m.current.process.returncode
        self.exit_codes.append(f"{m.label} {sig.name} -> {code}")
        self.journal.note(f"{sig.name} worker {m.label} (pid {m.pid}): exit code {code}")

    def restart(self, m: Member) -> None:
        m.start()
        self.journal.note(f"started worker {m.label} again: pid {m.pid}")

    def sharing(self) -> bool:
        """Both workers run and hold partitions, each its own, together all of them: the group is stable.

        (Disjoint, because a worker that hangs keeps its last assignment in its log while the other holds all.)
        """
        a, b = (m.holds(self.topic) for m in self.members)
        return bool(a) and bool(b) and not a & b and a | b == self.partitions

    def other(self, m: Member) -> Member:
        return self.members[1 - self.members.index(m)]

    def stalled(self, what: str, expected: str) -> None:
        """Record that the group did not do `expected` within TAKEOVER_TIMEOUT (a liveness defect, not a wait's end)."""
        self.stalls.append(Finding("", "", what, expected, f"nothing within {TAKEOVER_TIMEOUT:.0f}s"))
        self.journal.note(f"STALL: {what}: nothing within {TAKEOVER_TIMEOUT:.0f}s")

    def close(self) -> None:
        """Continue anything stopped, then stop both workers (SIGTERM, SIGKILL after 10 s)."""
        for m in self.members:
            if m.current.stopped:
                m.current.process.send_signal(signal.SIGCONT)
                m.current.stopped = False
            if m.current.process.poll() is None:
                m.current.ended_by = "close"
                stop_process(m.current.process)
                self.exit_codes.append(f"{m.label} stopped at the end -> {m.current.process.returncode}")


# ---------------------------------------------------------------------------------------------------------------
# Faults: each takes the cluster and its planned Fault, and returns with both workers running again.


def kill_9(cluster: Cluster, fault: Fault) -> None:
    """kill -9 a worker in the middle of a batch, start it again a little later (its uncommitted records go to the
    other meanwhile)."""
    m = cluster.members[fault.worker]
    cluster.busy_moment(fault.gap / 20)
    cluster.end(m, signal.SIGKILL)
    cluster.pause(fault.delay)
    cluster.restart(m)


def sigterm(cluster: Cluster, fault: Fault) -> None:
    """A clean stop (SIGTERM, as a deployment does), then a start."""
    m = cluster.members[fault.worker]
    cluster.end(m, signal.SIGTERM)
    cluster.pause(fault.delay)
    cluster.restart(m)


def zombie(cluster: Cluster, fault: Fault) -> None:
    """SIGSTOP a worker that holds partitions until the other holds all of them plus 3 s, then SIGCONT it.

    The paused worker misses its session timeout and is expelled, but it
    still believes it owns its partitions when it wakes up; it must then
    rejoin the group.
    """
    m = cluster.members[fault.worker]
    other = cluster.other(m)
    # Paused while still recovering, it would have nothing under way to come back with; paused while the other
    # has not joined yet, nobody could take its partitions over (the pause would only stop the stream).
    if not cluster.wait(lambda: m.scoring(cluster.topic) and cluster.sharing(), TAKEOVER_TIMEOUT):
        cluster.stalled(
            f"before the zombie pause of {m.label}: the two workers did not share the partitions with "
            f"{m.label} scoring",
            "a stable group; paused anyway",
        )
    mark = other.log.stat().st_size
    held = sorted(m.holds(cluster.topic))
    cluster.busy_moment(fault.gap / 20)  # 15-50 ms after a chunk: likely in the middle of a batch
    m.current.process.send_signal(signal.SIGSTOP)
    m.current.stopped = True
    cluster.journal.note(f"SIGSTOP worker {m.label} (pid {m.pid}), holding {held}")
    try:
        if cluster.wait(lambda: other.holds(cluster.topic, since=mark) == cluster.partitions, TAKEOVER_TIMEOUT):
            cluster.journal.note(f"worker {other.label} holds every partition")
        else:
            cluster.stalled(
                f"worker {m.label} SIGSTOPped holding {held}: worker {other.label} did not take its partitions",
                "a takeover of every partition",
            )
        cluster.pause(ZOMBIE_EXTRA_SECONDS)
    finally:
        woke = m.log.stat().st_size
        m.current.process.send_signal(signal.SIGCONT)
        m.current.stopped = False
    cluster.journal.note(f"SIGCONT worker {m.label} (pid {m.pid})")
    # Expelled, it must find out and join the group again (a new assignment), as it did within seconds before.
    if cluster.wait(lambda: ASSIGNED in m.log_since(woke), TAKEOVER_TIMEOUT):
        cluster.journal.note(f"worker {m.label} rejoined: holds {sorted(m.holds(cluster.topic))}")
    else:
        cluster.stalled(f"worker {m.label} continued after its pause: it did not rejoin the group", "a new assignment")


def redis_stop(cluster: Cluster, fault: Fault) -> None:
    """SIGSTOP the Redis server for REDIS_PAUSE_SECONDS: writes time out, nothing is refused, then it is back."""
    server = cluster.stack.processes["redis"]
    server.send_signal(signal.SIGSTOP)
    cluster.journal.note(f"SIGSTOP redis (pid {server.pid})")
    try:
        cluster.pause(REDIS_PAUSE_SECONDS)
    finally:
        server.send_signal(signal.SIGCONT)
    cluster.journal.note("SIGCONT redis")


def kill_9_in_rebalance(cluster: Cluster, fault: Fault) -> None:
    """kill -9 a worker, start it again, and kill -9 the survivor within a second of that start."""
    m = cluster.members[fault.worker]
    survivor = cluster.other(m)
    cluster.busy_moment(fault.gap / 20)
    cluster.end(m, signal.SIGKILL)
    cluster.pause(fault.delay)
    cluster.restart(m)
    cluster.pause(fault.gap)
    cluster.end(survivor, signal.SIGKILL)
    cluster.pause(fault.delay)
    cluster.restart(survivor)


def takeover_after_restart(cluster: Cluster, fault: Fault) -> None:
    """kill -9 a worker and start it again; once it holds partitions, kill -9 the other: it must take all of them.

    With RocksDB the restarted worker has its disk from before its kill and
    the other's partitions as standby when it takes them over.
    """
    m = cluster.members[fault.worker]
    other = cluster.other(m)
    cluster.end(m, signal.SIGKILL)
    cluster.pause(fault.delay)
    cluster.restart(m)
    if not cluster.wait(lambda: bool(m.holds(cluster.topic)), TAKEOVER_TIMEOUT):
        cluster.stalled(f"worker {m.label} restarted", "partitions for it")
    cluster.journal.note(f"worker {m.label} holds {sorted(m.holds(cluster.topic))}")
    cluster.end(other, signal.SIGKILL)
    if cluster.wait(lambda: m.holds(cluster.topic) == cluster.partitions, TAKEOVER_TIMEOUT):
        cluster.journal.note(f"worker {m.label} holds every partition")
    else:
        cluster.stalled(
            f"worker {other.label} killed: worker {m.label} did not take its partitions",
            "a takeover of every partition",
        )
    cluster.pause(fault.delay)
    cluster.restart(other)


FAULTS: dict[str, Callable[[Cluster, Fault], None]] = {
    "kill-9": kill_9,
    "sigterm": sigterm,
    "zombie": zombie,
    "redis-stop": redis_stop,
    "kill-9-in-rebalance": kill_9_in_rebalance,
    "takeover-after-restart": takeover_after_restart,
}


# ---------------------------------------------------------------------------------------------------------------
# Publishing and reading


class Publisher(threading.Thread):
    """Sends the events in chunks every PACE_SECONDS over `seconds`, keyed by customer, through one producer."""

    def __init__(self, bootstrap: str, topics: dict[str, str], events: Sequence[Event], seconds: float) -> None:
        super().__init__(name="chaos-publisher", daemon=True)
        self.bootstrap, self.topics, self.events, self.seconds = bootstrap, topics, events, seconds
        self.failures: list[str] = []
        self.error: str | None = None
        self.sent = 0
        self.chunk_sent = threading.Event()  # set at each chunk: a fault can land while the workers are busy with it

    def run(self) -> None:
        try:
            producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", retries=10, linger_ms=5)
            chunks = max(1, round(self.seconds / PACE_SECONDS))
            size = -(-len(self.events) // chunks)
            started = time.monotonic()
            for i in range(0, len(self.events), size):
                time.sleep(max(0.0, started + (i // size) * PACE_SECONDS - time.monotonic()))  # pacing
                for e in self.events[i : i + size]:
                    future = producer.send(
                        self.topics[e.kind], key=e.customer_id.encode(), value=e.model_dump_json().encode()
                    )
                    future.add_errback(self._failed, e.event_id)
                self.sent = min(len(self.events), i + size)
                self.chunk_sent.set()
            producer.flush(timeout=60)
            producer.close()
        except Exception:  # noqa: BLE001 - the harness reports whatever stopped the publisher
            self.error = traceback.format_exc()

    def _failed(self, event_id: str, exc: BaseException) -> None:
        self.failures.append(f"{event_id}: {exc!r}")


@dataclass
class Placed:
    topic: str
    partition: int
    offset: int


@dataclass
class Version:
    """One distinct ScoreUpdate published for an event, and when (seconds into the stream, the broker's stamp)."""

    update: ScoreUpdate
    first_at: float
    copies: int = 1

    def __str__(self) -> str:
        return f"{describe(self.update)}, published at {self.first_at:.1f}s ({self.copies}x)"


class Scores:
    """ScoreUpdates read so far: every distinct version per event_id, how many were read, when the last came."""

    def __init__(self, bootstrap: str, topic: str, journal: Journal) -> None:
        self.reader: KafkaConsumer = topic_reader([bootstrap], [topic])
        self.journal = journal
        self.by_event: dict[str | None, list[Version]] = defaultdict(list)
        self.read = 0
        self.last_arrival = time.monotonic()

    def poll(self, seconds: float = 0.5) -> None:
        """Take what comes in the next `seconds` (one poll at least)."""
        watch(self._poll_once, seconds, interval=0)

    def _poll_once(self) -> None:
        for batch in self.reader.poll(timeout_ms=200).values():
            for record in batch:
                self._take(ScoreUpdate.model_validate_json(record.value), record.timestamp / 1000.0)

    def _take(self, update: ScoreUpdate, at: float) -> None:
        versions = self.by_event[update.event_id]
        same = next((v for v in versions if v.update == update), None)
        if same is None:
            versions.append(Version(update, at - self.journal.wall_started))
        else:
            same.copies += 1
        self.read += 1
        self.last_arrival = time.monotonic()

    def published_at(self, event_id: str | None) -> str:
        versions = self.by_event.get(event_id)
        return f"published at {versions[0].first_at:.1f}s" if versions else "never published"

    def close(self) -> None:
        self.reader.close()


# ---------------------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Finding:
    customer: str
    event_id: str
    what: str
    expected: str
    got: str

    def __str__(self) -> str:
        where = f"{self.customer} {self.event_id}: ".replace("  ", " ") if self.customer or self.event_id else ""
        return f"{where}{self.what}; expected {self.expected}; got {self.got}"


@dataclass
class Check:
    count: int = 0
    examples: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(finding)


@dataclass
class ChaosReport:
    seed: int
    store: str
    customers: int
    events: int
    expected_updates: int
    schedule: list[Fault]
    checks: dict[str, Check] = field(default_factory=lambda: {name: Check() for name in CHECKS})
    journal: list[str] = field(default_factory=list)
    exit_codes: list[str] = field(default_factory=list)
    updates_read: int = 0
    resent: int = 0  # updates read beyond one per event (identical re-sends and conflicting ones)
    settled: str = ""  # how the wait for updates ended: complete, settled or timeout
    offsets: str = ""  # the group's committed offsets against the input topics' ends, when not complete
    harness_errors: list[str] = field(default_factory=list)
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.harness_errors and all(c.count == 0 for c in self.checks.values())

    def counts(self) -> str:
        return " ".join(f"{name}={c.count}" for name, c in self.checks.items())

    def line(self) -> str:
        """One line per run, for the soak's output."""
        verdict = "OK" if self.ok else ("HARNESS ERROR" if self.harness_errors else "FAIL")
        return (
            f"seed {self.seed} {self.store} {verdict}: {self.counts()} resent={self.resent} "
            f"updates {self.updates_read}/{self.expected_updates} expected, {self.settled}, {self.duration:.0f}s"
        )

    def summary(self) -> str:
        lines = [
            f"chaos seed {self.seed}, store {self.store}: {self.customers} customers, {self.events} events, "
            f"{self.expected_updates} updates expected; {self.updates_read} read ({self.resent} re-sent); "
            f"outputs {self.settled}; {self.duration:.0f}s",
            f"result: {'OK' if self.ok else 'FAILED'}: {self.counts()}",
        ]
        if self.settled.startswith("timeout"):
            lines.append(
                "the group stalled: it did not commit every input record in time; updates of records "
                "it never reached count as lost"
            )
        if self.offsets:
            lines.append(f"committed offsets vs input ends: {self.offsets}")
        for error in self.harness_errors:
            lines.append(f"HARNESS ERROR (not a product defect): {error}")
        for name, check in self.checks.items():
            if check.count:
                lines.append(f"{name}: {check.count}")
                lines.extend(f"  - {finding}" for finding in check.examples)
        lines.append("schedule: " + "; ".join(str(f) for f in self.schedule))
        lines.append("exits: " + "; ".join(self.exit_codes))
        lines.append("journal:")
        lines.extend(f"  {line}" for line in self.journal)
        return "\n".join(lines)


def describe(u: ScoreUpdate) -> str:
    return f"score {u.score:.1f} {u.tier} (previous {u.previous_score}) at {u.scored_at.isoformat()}"


def differing_fields(a: object, b: object, names: Iterable[str]) -> list[str]:
    return [n for n in names if getattr(a, n) != getattr(b, n)]


# ---------------------------------------------------------------------------------------------------------------
# The checks


def check_updates(
    report: ChaosReport, ref: Reference, scores: Scores, placed: dict[str, Placed], committed: dict[TopicPartition, int]
) -> None:
    """lost, conflicting and wrong: every update read against the replay's update for its event_id."""
    for event_id, want in ref.updates.items():
        if event_id in scores.by_event:
            continue
        where = placed.get(event_id)
        if where is None:
            got = "no update; the event is not on its input topic"
        else:
            done = committed.get(TopicPartition(where.topic, where.partition), -1)
            state = "committed past it" if done > where.offset else "NOT committed yet (in flight or stuck)"
            got = f"no update; input {where.topic}[{where.partition}]@{where.offset}, group offset {done}: {state}"
        report.checks["lost"].add(Finding(want.customer_id, event_id, "update lost", describe(want), got))
    for event_id, versions in scores.by_event.items():
        want = ref.updates.get(event_id) if event_id is not None else None
        customer = versions[0].update.customer_id
        if len(versions) > 1:
            report.checks["conflicting"].add(
                Finding(
                    customer, str(event_id), f"{len(versions)} different updates", "one", " | ".join(map(str, versions))
                )
            )
        for version in versions:
            if want is None:
                report.checks["wrong"].add(
                    Finding(customer, str(event_id), "update the replay does not publish", "no update", str(version))
                )
            elif version.update != want:
                fields = differing_fields(version.update, want, ScoreUpdate.model_fields)
                report.checks["wrong"].add(
                    Finding(customer, str(event_id), f"update differs in {fields}", describe(want), str(version))
                )


def check_redis(
    report: ChaosReport, ref: Reference, snapshot: dict[str, dict[str, str | None]], scores: Scores
) -> None:
    """Each customer's snapshot hash against the replay's last update of the customer."""
    for customer, want in ref.last_update.items():
        got = snapshot.get(customer, {})
        if got.get("update") is None:
            report.checks["redis"].add(
                Finding(
                    customer,
                    str(want.event_id),
                    "no snapshot",
                    f"{describe(want)}, {scores.published_at(want.event_id)}",
                    "nothing",
                )
            )
            continue
        stored = ScoreUpdate.model_validate_json(got["update"] or "")
        score_ok = abs(float(got.get("score") or "nan") - want.score) < 0.01
        if not score_ok or got.get("tier") != want.tier or stored.event_id != want.event_id:
            report.checks["redis"].add(
                Finding(
                    customer,
                    str(want.event_id),
                    "snapshot is not the last update",
                    f"{describe(want)} event {want.event_id}, {scores.published_at(want.event_id)}",
                    f"score {got.get('score')} {got.get('tier')} event {stored.event_id}, "
                    f"{scores.published_at(stored.event_id)}",
                )
            )


# State fields the worker keeps for itself, not the fold's, so the replay never sets them: unconfirmed_update
# holds the last update while Redis lags (in versions that have it).
WORKER_ONLY_FIELDS = ("unconfirmed_update",)


def scoring_part(got: CustomerState, want: CustomerState) -> CustomerState:
    """`got` with its worker-only fields as in `want`: what the offline fold can be compared with."""
    own = {f: getattr(want, f) for f in WORKER_ONLY_FIELDS if f in CustomerState.__struct_fields__}
    return msgspec.structs.replace(got, **own) if own else got


def check_changelog(report: ChaosReport, ref: Reference, log: Changelog) -> None:
    """The newest changelog state per customer holds every one of its events and equals the replay's final state."""
    for customer, want in ref.states.items():
        events = ref.events_of[customer]
        stored = log.newest.get(customer)
        if stored is None or stored.state is None:
            report.checks["changelog"].add(
                Finding(
                    customer,
                    events[-1],
                    "no state in the changelog",
                    f"{want.event_count} events",
                    str(stored or "nothing"),
                )
            )
            continue
        got = stored.state
        lacking = [e for e in events if not already_seen(got, e)]
        fullest = log.fullest[customer]
        went_back = f"; a fuller state came before it: {fullest}" if fullest.events > stored.events else ""
        if lacking:
            report.checks["changelog"].add(
                Finding(
                    customer,
                    lacking[0],
                    f"state lacks {len(lacking)} of {len(events)} events {lacking[:5]}",
                    f"event_count {want.event_count}",
                    f"{stored}{went_back}",
                )
            )
        elif scoring_part(got, want) != want:
            fields = differing_fields(scoring_part(got, want), want, CustomerState.__struct_fields__)
            report.checks["changelog"].add(
                Finding(
                    customer,
                    events[-1],
                    f"state differs in {fields}",
                    f"last_score {want.last_score}",
                    f"last_score {got.last_score}, {stored}",
                )
            )
    for customer in sorted(set(log.newest) - set(ref.states)):
        stored = log.newest[customer]
        if stored.state is None:  # a tombstone stores nothing (the end markers of versions that wrote them)
            continue
        report.checks["changelog"].add(
            Finding(
                repr(customer),
                "",
                "a state under a key no customer has",
                "nothing",
                f"state of {stored.state.customer_id!r}, {stored}",
            )
        )


def check_alerts(report: ChaosReport, ref: Reference, alerts: list[ChurnRiskAlert]) -> None:
    got: dict[str, list[ChurnRiskAlert]] = defaultdict(list)
    for alert in alerts:
        if alert not in got[alert.alert_id]:
            got[alert.alert_id].append(alert)
    for alert_id, want in ref.alerts.items():
        if alert_id not in got:
            report.checks["alerts"].add(Finding(want.customer_id, alert_id, "alert lost", want.trigger, "nothing"))
    for alert_id, versions in got.items():
        want = ref.alerts.get(alert_id)
        for version in versions:
            if want is None:
                report.checks["alerts"].add(
                    Finding(
                        version.customer_id,
                        alert_id,
                        "unexpected alert",
                        "none",
                        f"{version.trigger}: {version.detail}",
                    )
                )
            elif version != want:
                report.checks["alerts"].add(
                    Finding(
                        version.customer_id,
                        alert_id,
                        "alert differs",
                        f"{want.trigger}: {want.detail}",
                        f"{version.trigger}: {version.detail}",
                    )
                )


def check_deadletters(report: ChaosReport, ref: Reference, letters: list[DeadLetter]) -> None:
    for letter in letters:
        try:
            event_id = json.loads(base64.b64decode(letter.value_base64)).get("event_id", "?")
        except ValueError:
            event_id = "?"
        report.checks["deadletters"].add(
            Finding(
                ref.customer_of.get(event_id, "?"),
                event_id,
                f"dead-lettered ({letter.error}) from {letter.topic}[{letter.partition}]@{letter.offset}",
                "scored",
                letter.reason[:200],
            )
        )


def log_alarms(member: Member) -> list[Finding]:
    """`Crashed`, `ConsistencyError` and each traceback's exception line in a worker's log, with its time."""
    found: list[Finding] = []
    lines = member.log_since(0).splitlines() if member.log.exists() else []
    stamp = "?"
    for i, line in enumerate(lines):
        if m := STAMP.match(line):
            stamp = m.group(1)
        if not any(alarm in line for alarm in LOG_ALARMS):
            continue
        text = line.strip()
        if line.startswith("Traceback"):
            following = (x for x in lines[i + 1 :] if x and not x.startswith((" ", "Traceback", "During", "The above")))
            text = f"Traceback ... {next(following, '?').strip()}"
        elif "Traceback" in line and not any(a in line for a in LOG_ALARMS[1:]):
            continue  # a log line that prints a traceback starts one on the next lines
        found.append(Finding("", "", f"worker {member.label} log at {stamp}", "no crash", text[:300]))
    return found


def last_alarm(log_text: str) -> str:
    lines = [line for line in log_text.splitlines() if any(a in line for a in (*LOG_ALARMS, "ERROR"))]
    return lines[-1][:300] if lines else "(no error logged)"


# ---------------------------------------------------------------------------------------------------------------
# A run


@dataclass(frozen=True)
class ChaosPlan:
    seed: int
    store: str
    customers: int
    events: int
    seconds: float  # the stream's length; faults land in its first 80%
    faults: tuple[str, ...]
    # After the stream and the faults, the bound on waiting for the last updates and commits: the backlog took
    # 3-10 s here; a group that has not caught up after this has stalled.
    outputs_timeout: float = 90.0


def chaos_env(store: str) -> dict[str, str]:
    """The worker settings of a chaos run with `store`: event clock, no timer."""
    return {**CHAOS_ENV, "HEALTHSCORE_STORE": store}


def run_chaos(first: Deployment, datadir: Path, plan: ChaosPlan, out: Callable[[str], None] = print) -> ChaosReport:
    """One seeded chaos run on `first`'s topics and group (started with `chaos_env`); never raises for a defect."""
    began = time.monotonic()
    code = scoring_digest()
    events = chaos_events(plan.seed, plan.customers, plan.events)
    ref = reference(events)
    schedule = chaos_schedule(plan.seed, plan.seconds, plan.faults)
    report = ChaosReport(plan.seed, plan.store, plan.customers, len(events), len(ref.updates), schedule)
    out(
        f"[chaos] seed {plan.seed}, {plan.store}: {len(events)} events of {plan.customers} customers over "
        f"{plan.seconds:.0f}s, {len(ref.updates)} updates expected; schedule: " + "; ".join(map(str, schedule))
    )
    journal = Journal(out)
    cluster = Cluster(first, datadir, journal)
    settings = first.settings
    scores: Scores | None = None
    try:
        cluster.start()
        if not cluster.wait(cluster.sharing, JOIN_TIMEOUT):
            report.harness_errors.append(f"the two workers did not share the partitions within {JOIN_TIMEOUT:.0f}s")
            return report
        topics = {kind: topic for topic, kind in settings.input_topics().items()}
        publisher = Publisher(first.stack.bootstrap, topics, events, plan.seconds)
        journal.start()
        scores = Scores(first.stack.bootstrap, settings.topic_scores, journal)
        journal.note(
            f"stream starts; partitions a {sorted(cluster.members[0].holds(cluster.topic))}, "
            f"b {sorted(cluster.members[1].holds(cluster.topic))}"
        )
        cluster.chunk_sent = publisher.chunk_sent
        publisher.start()
        for fault in schedule:
            cluster.wait(lambda: journal.elapsed() >= fault.at, fault.at + 1.0)  # noqa: B023 - called in this iteration
            journal.note(f"fault {fault} (sent {publisher.sent} events)")
            try:
                FAULTS[fault.kind](cluster, fault)
            except Exception:  # noqa: BLE001 - a fault that fails to inject is reported, the run goes on
                report.harness_errors.append(f"fault {fault}: {traceback.format_exc()}")
            scores.poll(0.0)
        cluster.wait(lambda: not publisher.is_alive(), plan.seconds + 120.0)
        cluster.chunk_sent = None
        journal.note(f"stream and faults over: {publisher.sent} events sent")
        if publisher.error or publisher.failures or publisher.is_alive():
            report.harness_errors.append(f"publishing failed: {publisher.error or publisher.failures[:5]}")

        placed = place_events(first.stack.bootstrap, list(topics.values()), events)
        not_there = len(events) - len(placed)
        if not_there:
            report.harness_errors.append(f"{not_there} events are not on their input topics")
        ends: dict[TopicPartition, int] = defaultdict(int)
        for p in placed.values():
            tp = TopicPartition(p.topic, p.partition)
            ends[tp] = max(ends[tp], p.offset + 1)
        report.settled, committed = await_outputs(cluster, scores, ref, ends, settings.app_id, plan.outputs_timeout)
        journal.note(f"outputs {report.settled}: {scores.read} updates read")
        if report.settled != "complete":
            report.offsets = ", ".join(
                f"{tp.topic}[{tp.partition}] {committed.get(tp, -1)}/{end}" for tp, end in sorted(ends.items())
            )
        snapshot = settle_redis(cluster, ref, settings)
        journal.note("redis settled")

        check_updates(report, ref, scores, placed, committed)
        check_redis(report, ref, snapshot, scores)
        check_changelog(report, ref, changelog_states(first.stack.bootstrap, settings, journal))
        alerts = [
            ChurnRiskAlert.model_validate_json(r.value)
            for r in read_all(first.stack.bootstrap, [settings.topic_alerts])
        ]
        check_alerts(report, ref, alerts)
        letters = [
            DeadLetter.model_validate_json(r.value)
            for r in read_all(first.stack.bootstrap, [settings.topic_deadletter])
        ]
        check_deadletters(report, ref, letters)
        report.updates_read = scores.read
        report.resent = scores.read - sum(1 for e in scores.by_event if e in ref.updates)
    except Exception:  # noqa: BLE001 - the harness reports whatever went wrong, then cleans up
        report.harness_errors.append(traceback.format_exc())
    finally:
        if scores is not None:
            scores.close()
        cluster.close()
        first.process = cluster.members[0].current.process  # so the `deploy` fixture stops the newest one
        for finding in cluster.crashes:
            report.checks["crashes"].add(finding)
        for finding in cluster.stalls:
            report.checks["stalls"].add(finding)
        if report.settled.startswith("timeout"):
            report.checks["stalls"].add(
                Finding(
                    "",
                    "",
                    "after the stream and the faults: the group did not commit every input record",
                    "every record handled",
                    report.settled,
                )
            )
        elif report.settled.startswith("complete, but"):  # Faust commits every 2.8 s: offsets idle this long are stuck
            report.checks["stalls"].add(
                Finding(
                    "",
                    "",
                    "every update arrived but the group stopped committing",
                    "offsets committed up to the inputs' ends",
                    f"still behind {UNCOMMITTED_QUIET_SECONDS:.0f}s after the last update",
                )
            )
        for m in cluster.members:
            for finding in log_alarms(m):
                report.checks["crashes"].add(finding)
        report.journal, report.exit_codes = journal.lines, cluster.exit_codes
        report.duration = time.monotonic() - began
        if scoring_digest() != code:
            report.harness_errors.append(
                "the scoring code or model (scoring/, schemas/, models/) changed during the "
                "run: the workers may not score as the offline replay did"
            )
    return report


def place_events(bootstrap: str, topics: list[str], events: Sequence[Event]) -> dict[str, Placed]:
    """Where each event sits on its input topic (read back): so a lost update can be told from an unsent event."""
    placed: dict[str, Placed] = {}
    for r in read_all(bootstrap, topics, timeout=60.0):
        placed.setdefault(json.loads(r.value)["event_id"], Placed(r.topic, r.partition, r.offset))
    return placed


def await_outputs(
    cluster: Cluster, scores: Scores, ref: Reference, ends: dict[TopicPartition, int], group: str, timeout: float
) -> tuple[str, dict[TopicPartition, int]]:
    """Read updates until the group has committed every input record and no update came for QUIET_SECONDS, or
    until `timeout`; returns how it ended and the group's committed offsets then.

    "complete": every expected update arrived; "settled": some never will
    (the group is past their records: lost, not in flight). Waiting for the
    commits, not only for the last update, also lets re-sends of records
    handled again after a restart arrive before the checks.
    """
    deadline = time.monotonic() + timeout
    committed: dict[TopicPartition, int] = {}
    while True:
        cluster.supervise()
        scores.poll(1.0)
        committed = committed_offsets(cluster.stack.bootstrap, group, ends)
        quiet = time.monotonic() - scores.last_arrival
        arrived = all(event_id in scores.by_event for event_id in ref.updates)
        if quiet >= QUIET_SECONDS and all(committed.get(tp, -1) >= end for tp, end in ends.items()):
            return ("complete" if arrived else "settled"), committed
        if arrived and quiet >= UNCOMMITTED_QUIET_SECONDS:
            return "complete, but the group has not committed every input record", committed
        if time.monotonic() > deadline:
            return f"timeout after {timeout:.0f}s", committed


def redis_snapshot(client: redis.Redis, prefix: str, customers: Iterable[str]) -> dict[str, dict[str, str | None]]:
    names = list(customers)
    pipe = client.pipeline(transaction=False)
    for customer in names:
        pipe.hmget(customer_key(prefix, customer), "score", "tier", "update")
    return {c: dict(zip(("score", "tier", "update"), values)) for c, values in zip(names, pipe.execute())}


def settle_redis(cluster: Cluster, ref: Reference, settings: Settings) -> dict[str, dict[str, str | None]]:
    """The snapshot once it equals the replay's last updates, or stopped changing for REDIS_STABLE_SECONDS."""
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    want = {c: u.event_id for c, u in ref.last_update.items()}
    try:
        snapshot: dict[str, dict[str, str | None]] = {}
        stable_since = time.monotonic()
        deadline = time.monotonic() + REDIS_TIMEOUT

        def settled() -> bool:
            nonlocal snapshot, stable_since
            latest = redis_snapshot(client, settings.redis_prefix, ref.last_update)
            if latest != snapshot:
                snapshot, stable_since = latest, time.monotonic()
            done = {c: json.loads(v["update"])["event_id"] if v.get("update") else None for c, v in latest.items()}
            return done == want or time.monotonic() - stable_since >= REDIS_STABLE_SECONDS

        cluster.wait(settled, max(0.0, deadline - time.monotonic()))
        return snapshot
    finally:
        client.close()


@dataclass
class Stored:
    """A customer's state record on the changelog: where, when (seconds into the stream) and how many events."""

    state: CustomerState | None  # None: a tombstone
    partition: int
    offset: int
    at: float

    @property
    def events(self) -> int:
        return self.state.event_count if self.state is not None else 0

    def __str__(self) -> str:
        return f"event_count {self.events} at changelog[{self.partition}]@{self.offset}, written at {self.at:.1f}s"


@dataclass
class Changelog:
    newest: dict[str, Stored]  # the record a restore ends with, per customer
    fullest: dict[str, Stored]  # the record with the most events, per customer: newer than `newest` if one went back


def changelog_states(bootstrap: str, settings: Settings, journal: Journal) -> Changelog:
    """Per customer, the newest record on the state changelog and the one with the most events."""
    log = Changelog({}, {})
    for r in read_all(bootstrap, [f"{settings.app_id}-{STATE_TABLE}-changelog"], timeout=60.0):
        customer = r.key.decode()
        stored = Stored(
            None if r.value is None else decode_state(r.value),
            r.partition,
            r.offset,
            r.timestamp / 1000.0 - journal.wall_started,
        )
        log.newest[customer] = stored
        if customer not in log.fullest or stored.events > log.fullest[customer].events:
            log.fullest[customer] = stored
    return log


def print_table(reports: Sequence[ChaosReport], out: Callable[[str], None] = print) -> None:
    """The soak's closing table: one row per run."""
    header = ["seed", "store", "result", *CHECKS, "resent", "seconds"]
    rows = [
        [
            str(r.seed),
            r.store,
            "OK" if r.ok else ("HARNESS" if r.harness_errors else "FAIL"),
            *(str(r.checks[c].count) for c in CHECKS),
            str(r.resent),
            f"{r.duration:.0f}",
        ]
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
