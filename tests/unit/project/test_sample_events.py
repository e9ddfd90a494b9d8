"""The demo's sample file: reproducible from its seeded script, and it gives the demo something to show."""

import importlib.util
from collections import Counter

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER
from schemas.model_config import ScoringModel
from scoring.replay import replay
from streams.worker.model_file import load_model
from tests.paths import ROOT
from tests.samples import sample_events

SAMPLE = ROOT / "data" / "sample_events.jsonl"


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "generate_sample_events", ROOT / "scripts" / "generate_sample_events.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_file_is_what_the_seeded_script_writes() -> None:
    assert SAMPLE.read_text().splitlines() == load_generator().generate()


def test_the_sample_has_hundreds_of_customers_over_months_with_bad_lines_and_duplicates() -> None:
    events, invalid = [], 0
    for line in SAMPLE.read_text().splitlines():
        try:
            events.append(EVENT_ADAPTER.validate_json(line))
        except ValidationError:
            invalid += 1
    customers = {e.customer_id for e in events}
    span = max(e.occurred_at for e in events) - min(e.occurred_at for e in events)
    assert len(customers) >= 200 and span.days >= 90
    assert invalid == 4
    assert len(events) - len({e.event_id for e in events}) == 5
    assert set(Counter(e.kind for e in events)) == {"purchase", "visit", "ticket", "survey", "profile"}
    assert {e.customer_id for e in events if e.kind == "profile"} == customers  # everyone has a CRM profile


def test_the_samples_profiles_choose_per_segment_models_and_raise_renewal_alerts() -> None:
    """What the demo shows with models/segmented.toml: each plan's model, and renewals at risk."""
    result = replay(sample_events(), load_model(ROOT / "models" / "segmented.toml"))
    assert set(Counter(u.model_name for u in result.updates)) == {"self-serve", "enterprise", "onboarding"}
    renewals = [a for a in result.alerts if a.trigger == "renewal_risk"]
    assert (
        renewals
        and {a.tier for a in renewals} <= {"at_risk", "critical"}
        and all(a.severity == "high" for a in renewals)
    )


def test_replaying_the_sample_raises_alerts_for_quiet_complaining_and_detracting_customers() -> None:
    events = []
    for line in SAMPLE.read_text().splitlines():
        try:
            events.append(EVENT_ADAPTER.validate_json(line))
        except ValidationError:
            pass
    result = replay(events, ScoringModel())
    reasons = " | ".join(r for alert in result.alerts for r in alert.reasons)
    assert {a.tier for a in result.alerts if a.trigger == "tier_entry"} == {"at_risk", "critical"}
    assert {a.trigger for a in result.alerts} >= {"tier_entry", "detractor_nps", "stale_ticket", "purchase_overdue"}
    assert "no purchase for" in reasons and "complaint" in reasons and "(detractor)" in reasons
    assert result.duplicates == 5
