"""The churn-risk alert policy: five triggers, hysteresis, cooldowns and one alert per episode.

- tier_entry: the risk level rises (none -> at_risk -> critical); leaving a
  level takes `hysteresis` points more, so hovering at a threshold alerts once.
- score_drop: the score fell `points` or more within `days`.
- purchase_overdue: `cycles` purchase cycles without a purchase; once per last purchase.
- detractor_nps: a new NPS answer of 6 or less; once per answer.
- stale_ticket: a high-priority ticket open longer than `days`; once per ticket.
- renewal_risk: the profile's renewal date is within `days` while the tier is
  at_risk or critical; severity high, once per renewal date.

tier_entry and score_drop repeat at most once per `cooldown` unless more severe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from schemas.model_config import ScoringModel, TierThresholds
from schemas.outputs import Severity, Tier, Trigger
from scoring.model import Assessment, overdue_ratio, purchase_cycle_days
from scoring.state import HIGH_PRIORITIES, AlertMemory, CustomerState, HistoryPoint
from scoring.windows import day_of

SEVERITY: dict[Tier | None, int] = {None: 0, "healthy": 0, "watch": 0, "at_risk": 1, "critical": 2}
DETRACTOR_MAX = 6
# A fixed namespace makes alert ids reproducible across restarts and replays.
ALERT_NAMESPACE = uuid.UUID("5b0f3c64-3a53-4b8e-9d0c-6f0e6f1f2a77")


@dataclass(frozen=True)
class Fired:
    trigger: Trigger
    detail: str
    severity: Severity = "normal"


def renewal_window_opens(state: CustomerState, model: ScoringModel) -> datetime | None:
    """When the renewal-risk window of the customer's next renewal opens (UTC midnight), if they have one."""
    rule = model.alerts.triggers.renewal_risk
    renewal = state.profile.renewal_date if state.profile else None
    if not rule.enabled or renewal is None:
        return None
    return datetime.combine(renewal, time(0), tzinfo=timezone.utc) - timedelta(days=rule.days)


def risk_level(score: float, current: Tier | None, tiers: TierThresholds, hysteresis: float) -> Tier | None:
    """The alerting level for `score`: entering a tier is immediate, leaving it takes `hysteresis` points more."""
    if score < tiers.at_risk or (current == "critical" and score < tiers.at_risk + hysteresis):
        return "critical"
    if score < tiers.watch or (current in ("at_risk", "critical") and score < tiers.watch + hysteresis):
        return "at_risk"
    return None


def _cooling(memory: AlertMemory, trigger: str, severity: int, cooldown: timedelta, now: datetime) -> bool:
    """True when `trigger` fired within `cooldown` at the same or a higher severity."""
    last = memory.last_alert_at.get(trigger)
    return last is not None and now - last < cooldown and severity <= SEVERITY[memory.last_alert_tier.get(trigger)]


def score_drop(history: tuple[HistoryPoint, ...], current: float, now: datetime, days: float) -> float:
    """How far the score fell from its highest point within `days` (0 if it did not).

    Only once the history reaches back `days`: a new customer's first scores
    swing as each dimension becomes known, and that is not a drop.
    """
    since = day_of(now - timedelta(days=days))
    if not history or history[0].day > since:
        return 0.0
    recent = [p.score for p in history if p.day >= since]
    return max(0.0, max(recent, default=current) - current)


def decide_alerts(
    state: CustomerState, result: Assessment, model: ScoringModel, now: datetime
) -> tuple[AlertMemory, list[Fired]]:
    """The new alert memory and the alerts this score raises; `state.history` is before this score."""
    policy, triggers = model.alerts, model.alerts.triggers
    memory = state.alert
    if state.event_count < policy.min_events:
        return memory, []  # one event says too little to alert on; the memory waits too
    fired: list[Fired] = []
    stamp: set[str] = set()
    tier = result.tier

    level = risk_level(result.score, memory.level, model.tiers, policy.hysteresis)
    if triggers.tier_entry and SEVERITY[level] > SEVERITY[memory.level]:
        if not _cooling(memory, "tier_entry", SEVERITY[level], policy.cooldown, now):
            fired.append(Fired("tier_entry", f"entered {level} at score {result.score:.1f}"))
            stamp.add("tier_entry")

    drop_rule = triggers.score_drop
    if drop_rule.enabled:
        drop = score_drop(state.history, result.score, now, drop_rule.days)
        if drop >= drop_rule.points and not _cooling(memory, "score_drop", SEVERITY[tier], policy.cooldown, now):
            fired.append(Fired("score_drop", f"score fell {drop:.1f} points within {drop_rule.days:.0f} days to {result.score:.1f}"))
            stamp.add("score_drop")

    changes: dict[str, object] = {"level": level}
    overdue_rule = triggers.purchase_overdue
    ratio = overdue_ratio(state, model, now)
    if (
        overdue_rule.enabled
        and ratio is not None
        and state.purchase_count >= overdue_rule.min_purchases
        and ratio >= overdue_rule.cycles
        and memory.overdue_alerted_for != state.last_purchase_at
    ):
        cycle = purchase_cycle_days(state, model) or model.defaults.purchase_cycle_days
        fired.append(Fired("purchase_overdue", f"purchase overdue: {ratio:.1f}x the usual {cycle:.0f}-day cycle"))
        changes["overdue_alerted_for"] = state.last_purchase_at

    nps = state.nps
    if triggers.detractor_nps and nps is not None and nps.score <= DETRACTOR_MAX and memory.detractor_alerted_for != nps.at:
        fired.append(Fired("detractor_nps", f"NPS answer of {nps.score} (detractor)"))
        changes["detractor_alerted_for"] = nps.at

    stale_rule = triggers.stale_ticket
    if stale_rule.enabled:
        open_ids = {t.ticket_id for t in state.open_tickets}
        stale_after = timedelta(days=stale_rule.days)  # once, not once per open ticket
        stale = [
            t for t in state.open_tickets
            if t.priority in HIGH_PRIORITIES and now - t.opened_at >= stale_after
            and t.ticket_id not in memory.stale_tickets_alerted
        ]  # fmt: skip
        if stale:
            oldest = min(stale, key=lambda t: t.opened_at)
            age = (now - oldest.opened_at).total_seconds() / 86400
            fired.append(Fired("stale_ticket", f"{len(stale)} high-priority ticket(s) unresolved, oldest for {age:.0f} days"))
        alerted = [i for i in memory.stale_tickets_alerted if i in open_ids] + [t.ticket_id for t in stale]
        changes["stale_tickets_alerted"] = tuple(alerted)

    renewal = state.profile.renewal_date if state.profile else None
    opens = renewal_window_opens(state, model)
    if (
        opens is not None
        and renewal is not None
        and opens <= now < opens + timedelta(days=triggers.renewal_risk.days + 1)
        and tier in ("at_risk", "critical")
        and memory.renewal_alerted_for != renewal
    ):
        days_left = (renewal - now.date()).days
        value = state.profile.contract_value if state.profile else None
        worth = f", contract value {value:,.0f}" if value is not None else ""
        fired.append(Fired("renewal_risk", f"renewal on {renewal.isoformat()} in {days_left} days while {tier}{worth}", "high"))
        changes["renewal_alerted_for"] = renewal

    if stamp:
        changes["last_alert_at"] = memory.last_alert_at | {t: now for t in sorted(stamp)}
        changes["last_alert_tier"] = memory.last_alert_tier | {t: tier if t != "tier_entry" else level for t in sorted(stamp)}
    return memory.model_copy(update=changes), fired


def alert_id(customer_id: str, trigger: str, cause: str) -> str:
    """Stable id of the alert raised for `customer_id` by `trigger` because of `cause` (an event id or a time)."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{customer_id}|{trigger}|{cause}"))
