"""The churn-risk alert policy: six triggers, hysteresis, cooldowns and one alert per episode.

Each trigger is one function below, listed in TRIGGERS; `decide_alerts`
runs them in that order. A trigger reads the moment being scored and
returns what fired (or None) and what the alert memory must remember.

- tier_entry: the risk level rises (none -> at_risk -> critical); leaving a
  level takes `hysteresis` points more, so hovering at a threshold alerts once.
- score_drop: the score fell `points` or more within `days`.
- purchase_overdue: `cycles` purchase cycles and at least `min_days` without a purchase; once per last purchase.
- detractor_nps: a new NPS answer of 6 or less; once per answer.
- stale_ticket: a high-priority ticket open longer than `days`; once per ticket.
- renewal_risk: the profile's renewal date is within `days` while the tier is
  at_risk or critical; severity high, once per renewal date.

tier_entry and score_drop repeat at most once per `cooldown` unless more severe.

Alerts see the score and tier as a person's override has them, like
everything else: a pinned or adjusted score is the score, and a pinned tier
is the customer's risk level whatever the score (docs/guides/overrides.md).
So an alert's tier is always the tier its text names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import msgspec

from schemas.model_config import ScoringModel, TierThresholds
from schemas.outputs import Severity, Tier, Trigger
from scoring.instants import MICROSECOND, US_PER_DAY, day_date, days, days_since, to_us
from scoring.model import Assessment, overdue_ratio
from scoring.signals import expected_cycle_days
from scoring.state import HIGH_PRIORITIES, AlertMemory, CustomerState

SEVERITY: dict[str | None, int] = {None: 0, "healthy": 0, "watch": 0, "at_risk": 1, "critical": 2}
DETRACTOR_MAX = 6
# A fixed namespace makes alert ids reproducible across restarts and replays.
ALERT_NAMESPACE = uuid.UUID("5b0f3c64-3a53-4b8e-9d0c-6f0e6f1f2a77")
# Triggers that repeat at most once per cooldown, unless more severe: they remember when and at what tier.
COOLING = ("tier_entry", "score_drop")


@dataclass(frozen=True)
class Fired:
    trigger: Trigger
    detail: str
    severity: Severity = "normal"


class Moment:
    """What every trigger reads: the customer (history and memory as before this score), the new score, the time."""

    __slots__ = ("state", "result", "model", "now", "level")

    def __init__(self, state: CustomerState, result: Assessment, model: ScoringModel, now: int, level: Tier | None):
        self.state, self.result, self.model = state, result, model
        self.now = now  # microseconds
        self.level = level  # the risk level this score puts the customer at


Decision = tuple[Fired | None, dict[str, object]]  # what fired, and the alert memory's changed fields


def risk_level(
    score: float, current: str | None, tiers: TierThresholds, hysteresis: float, pinned: str | None = None
) -> Tier | None:
    """The alerting level for `score`: entering a tier is immediate, leaving it takes `hysteresis` points more.

    A tier a person pinned is the level, whatever the score.
    """
    if pinned is not None:
        return pinned if pinned in ("at_risk", "critical") else None  # type: ignore[return-value]
    if score < tiers.at_risk or (current == "critical" and score < tiers.at_risk + hysteresis):
        return "critical"
    if score < tiers.watch or (current in ("at_risk", "critical") and score < tiers.watch + hysteresis):
        return "at_risk"
    return None


def cooling(memory: AlertMemory, trigger: str, severity: int, cooldown: timedelta, now: int) -> bool:
    """True when `trigger` fired within `cooldown` at the same or a higher severity."""
    last = memory.last_alert_at.get(trigger)
    return (
        last is not None
        and now - last < cooldown // MICROSECOND
        and severity <= SEVERITY[memory.last_alert_tier.get(trigger)]
    )


def score_drop(days_kept: list[int], scores: list[float], current: float, now: int, days: float) -> float:
    """How far the score fell from its highest point within `days` (0 if it did not).

    Only once the history reaches back `days`: a new customer's first scores
    swing as each dimension becomes known, and that is not a drop.
    """
    since = (now - round(days * US_PER_DAY)) // US_PER_DAY
    if not days_kept or days_kept[0] > since:
        return 0.0
    highest, at = current, len(days_kept)  # the history is in day order: the recent points are at its end
    while at and days_kept[at - 1] >= since:
        at -= 1
        if scores[at] > highest:
            highest = scores[at]
    return max(0.0, highest - current)


def renewal_window_opens(state: CustomerState, model: ScoringModel) -> int | None:
    """When the renewal-risk window of the customer's next renewal opens (UTC midnight, microseconds), if there is one."""
    rule = model.alerts.triggers.renewal_risk
    renewal = state.profile.renewal_date if state.profile else None
    if not rule.enabled or renewal is None:
        return None
    return to_us(datetime.combine(renewal, time(0), tzinfo=timezone.utc) - timedelta(days=rule.days))


def overdue_at(state: CustomerState, model: ScoringModel) -> int | None:
    """When a purchase_overdue alert falls due for the customer's last purchase (microseconds), if one still can."""
    rule = model.alerts.triggers.purchase_overdue
    last = state.last_purchase_at
    if (
        not rule.enabled
        or last is None
        or state.purchase_count < rule.min_purchases
        or state.alert.overdue_alerted_for == last
    ):
        return None
    return last + round(max(rule.cycles * expected_cycle_days(state, model), rule.min_days) * US_PER_DAY)


def tier_entry(m: Moment) -> Decision:
    policy = m.model.alerts
    memory = m.state.alert
    if not policy.triggers.tier_entry or SEVERITY[m.level] <= SEVERITY[memory.level]:
        return None, {}
    if cooling(memory, "tier_entry", SEVERITY[m.level], policy.cooldown, m.now):
        return None, {}
    override = m.state.override
    pinned = f" (tier pinned by {override.author})" if override is not None and override.action == "pin_tier" else ""
    return Fired("tier_entry", f"entered {m.level} at score {m.result.score:.1f}{pinned}"), {}


def score_fell(m: Moment) -> Decision:
    rule, policy = m.model.alerts.triggers.score_drop, m.model.alerts
    if not rule.enabled:
        return None, {}
    drop = score_drop(m.state.history_day, m.state.history_score, m.result.score, m.now, rule.days)
    if drop < rule.points or cooling(m.state.alert, "score_drop", SEVERITY[m.result.tier], policy.cooldown, m.now):
        return None, {}
    return Fired("score_drop", f"score fell {drop:.1f} points within {rule.days:.0f} days to {m.result.score:.1f}"), {}


def purchase_overdue(m: Moment) -> Decision:
    rule, state = m.model.alerts.triggers.purchase_overdue, m.state
    ratio = overdue_ratio(state, m.model, m.now)
    if (
        not rule.enabled
        or ratio is None
        or state.purchase_count < rule.min_purchases
        or ratio < rule.cycles
        or state.alert.overdue_alerted_for == state.last_purchase_at
    ):
        return None, {}
    if state.last_purchase_at is None or days_since(m.now, state.last_purchase_at) < rule.min_days:
        return None, {}
    cycle = expected_cycle_days(state, m.model)
    fired = Fired("purchase_overdue", f"purchase overdue: {ratio:.1f}x the usual {cycle:.0f}-day cycle")
    return fired, {"overdue_alerted_for": state.last_purchase_at}


def detractor_nps(m: Moment) -> Decision:
    nps = m.state.nps
    if not m.model.alerts.triggers.detractor_nps or nps is None or nps.score > DETRACTOR_MAX:
        return None, {}
    if m.state.alert.detractor_alerted_for == nps.at:
        return None, {}
    return Fired("detractor_nps", f"NPS answer of {nps.score} (detractor)"), {"detractor_alerted_for": nps.at}


def stale_ticket(m: Moment) -> Decision:
    rule, state = m.model.alerts.triggers.stale_ticket, m.state
    if not rule.enabled:
        return None, {}
    alerted = state.alert.stale_tickets_alerted
    if not state.open_tickets and not alerted:
        return None, {}
    stale_after = round(rule.days * US_PER_DAY)
    stale = [
        t
        for t in state.open_tickets
        if t.priority in HIGH_PRIORITIES and m.now - t.opened_at >= stale_after and t.ticket_id not in alerted
    ]
    open_ids = {t.ticket_id for t in state.open_tickets}
    remembered = [i for i in alerted if i in open_ids] + [t.ticket_id for t in stale]
    if not stale:
        return None, {"stale_tickets_alerted": remembered} if remembered != alerted else {}
    oldest = min(stale, key=lambda t: t.opened_at)
    age = days(m.now, oldest.opened_at)
    fired = Fired("stale_ticket", f"{len(stale)} high-priority ticket(s) unresolved, oldest for {age:.0f} days")
    return fired, {"stale_tickets_alerted": remembered}


def renewal_risk(m: Moment) -> Decision:
    state, tier = m.state, m.result.tier
    opens = renewal_window_opens(state, m.model)
    renewal: date | None = state.profile.renewal_date if state.profile else None
    if opens is None or renewal is None or tier not in ("at_risk", "critical"):
        return None, {}
    window_days = m.model.alerts.triggers.renewal_risk.days
    if not opens <= m.now < opens + round((window_days + 1) * US_PER_DAY) or state.alert.renewal_alerted_for == renewal:
        return None, {}
    days_left = (renewal - day_date(m.now // US_PER_DAY)).days
    value = state.profile.contract_value if state.profile else None
    worth = f", contract value {value:,.0f}" if value is not None else ""
    fired = Fired("renewal_risk", f"renewal on {renewal.isoformat()} in {days_left} days while {tier}{worth}", "high")
    return fired, {"renewal_alerted_for": renewal}


TRIGGERS: tuple[Callable[[Moment], Decision], ...] = (
    tier_entry,
    score_fell,
    purchase_overdue,
    detractor_nps,
    stale_ticket,
    renewal_risk,
)


def decide_alerts(
    state: CustomerState, result: Assessment, model: ScoringModel, now: int
) -> tuple[AlertMemory, list[Fired]]:
    """The new alert memory and the alerts this score raises; `state.history` is before this score."""
    policy = model.alerts
    memory = state.alert
    override = state.override
    pinned = override.tier if override is not None and override.action == "pin_tier" else None
    level = risk_level(result.score, memory.level, model.tiers, policy.hysteresis, pinned)
    if state.event_count < policy.min_events:
        # One event says too little to alert on, but the level is kept: a customer who slid into at_risk before
        # their second event has not entered it at that event (a first purchase is no reason to alert).
        return (msgspec.structs.replace(memory, level=level) if level != memory.level else memory), []
    moment = Moment(state, result, model, now, level)
    changes: dict[str, object] = {"level": moment.level} if moment.level != memory.level else {}
    fired: list[Fired] = []
    for trigger in TRIGGERS:
        raised, remembered = trigger(moment)
        changes |= remembered
        if raised is not None:
            fired.append(raised)
    stamped = [f.trigger for f in fired if f.trigger in COOLING]
    if stamped:
        changes["last_alert_at"] = memory.last_alert_at | {t: now for t in stamped}
        changes["last_alert_tier"] = memory.last_alert_tier | {
            t: moment.level if t == "tier_entry" else result.tier for t in stamped
        }
    return (msgspec.structs.replace(memory, **changes) if changes else memory), fired


def alert_id(customer_id: str, trigger: str, cause: str) -> str:
    """Stable id of the alert raised for `customer_id` by `trigger` because of `cause` (an event id or a time)."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{customer_id}|{trigger}|{cause}"))
