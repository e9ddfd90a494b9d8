"""Per-segment models: the profile picks the model, the ScoreUpdate names it, a new profile re-scores at once."""

import pytest

from schemas.model_config import ModelSet, ScoringModel
from scoring.model_choice import choose
from scoring.pipeline import rescore_if_changed
from scoring.replay import replay
from streams.exceptions import ModelFileError
from streams.worker.model_file import load_model
from tests.factories import at, profile, purchase, survey, visit
from tests.samples import SEGMENTED

MODELS = load_model(SEGMENTED)


def chosen(**fields) -> str:
    return choose(MODELS, profile("c", 0, **fields).profile() if fields else None).name


def test_the_shipped_segmented_file_loads_as_a_set_of_named_models() -> None:
    assert isinstance(MODELS, ModelSet)
    assert {name: m.name for name, m in MODELS.models.items()} == {
        n: n for n in ("self-serve", "enterprise", "onboarding")
    }


def test_rules_are_tried_in_order_and_the_default_catches_the_rest() -> None:
    assert chosen() == "self-serve"  # no profile
    assert chosen(plan="pro") == "self-serve"
    assert chosen(plan="enterprise") == "enterprise"
    assert chosen(plan="pro", contract_value=50000.0) == "enterprise"  # the first rule: big contracts
    assert chosen(plan="pro", contract_value=5000.0, lifecycle_stage="onboarding") == "onboarding"
    assert chosen(plan="enterprise", lifecycle_stage="onboarding") == "enterprise"  # first match wins


def test_each_update_names_the_model_and_a_new_profile_rescores_with_the_new_one_at_once() -> None:
    events = [
        profile("c", 0, plan="pro"),
        purchase("c", 1),
        visit("c", 2),
        survey("c", 3, "csat", 4),
        profile("c", 4, plan="enterprise"),
    ]
    run = replay(events, MODELS)
    assert [u.model_name for u in run.updates] == ["self-serve", "self-serve", "self-serve", "enterprise"]
    assert run.updates[-1].event_id == events[-1].event_id  # the profile itself triggered the re-score
    same_state = replay(events[:-1], MODELS).states["c"]
    enterprise_only = replay(events[1:-1], MODELS.models["enterprise"]).updates[-1]
    assert run.updates[-1].dimensions == enterprise_only.dimensions  # scored exactly as the enterprise model would
    assert same_state.last_score != run.updates[-1].score


def test_a_single_model_file_still_loads_as_one_model(tmp_path) -> None:
    path = tmp_path / "one.toml"
    path.write_text('name = "mine"\nversion = "7"\n')
    model = load_model(path)
    assert isinstance(model, ScoringModel) and model.name == "mine"


def test_rules_naming_an_undefined_model_stop_the_worker_with_a_clear_message(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('default = "a"\n[[rules]]\nmodel = "b"\nplan = ["x"]\n[models.a]\nversion = "1"\n')
    with pytest.raises(ModelFileError, match="not defined under \\[models\\]: b"):
        load_model(path)


def test_an_unknown_condition_in_a_rule_is_refused(tmp_path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('default = "a"\n[[rules]]\nmodel = "a"\nplann = ["x"]\n[models.a]\nversion = "1"\n')
    with pytest.raises(ModelFileError, match="plann"):
        load_model(path)


def test_the_timer_uses_the_customers_model_too() -> None:
    state = replay([profile("c", 0, plan="enterprise"), purchase("c", 0), purchase("c", 5)], MODELS).states["c"]
    later = rescore_if_changed(state, MODELS, at(200))
    assert later.update is not None and later.update.model_name == "enterprise"


def test_a_profile_that_switches_the_model_says_so_first_among_the_changes() -> None:
    events = [
        profile("c", 0, plan="pro"),
        purchase("c", 1),
        visit("c", 2),
        survey("c", 3, "csat", 2),
        profile("c", 4, plan="enterprise"),
        profile("c", 5, plan="enterprise", industry="retail"),
        profile("c", 6, plan="pro", lifecycle_stage="onboarding"),
    ]
    run = replay(events, MODELS)
    switched, same_model, onboarding = run.updates[-3:]
    assert switched.changes[0] == "model changed from self-serve to enterprise"
    # The enterprise model's stricter tiers put the customer at risk: the alert says why.
    (alert,) = [a for a in run.alerts if a.event_id == events[4].event_id]
    assert (alert.trigger, alert.tier, alert.changes[0]) == ("tier_entry", "at_risk", switched.changes[0])
    assert not any(c.startswith("model changed") for c in same_model.changes)  # a new profile, the same model
    assert onboarding.changes[0] == "model changed from enterprise to onboarding"
    # Before any behaviour there is no model to change from: the first score names none.
    assert not any(c.startswith("model changed") for u in run.updates[:3] for c in u.changes)
