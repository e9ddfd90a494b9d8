"""Which scoring model applies to a customer: per-segment models chosen from the profile.

Pure and cheap, so it runs on every step: a profile that moves a customer
into another segment re-scores them with that segment's model at once.
"""

from __future__ import annotations

from schemas.model_config import Model, ModelRule, ModelSet, ScoringModel
from scoring.state import Profile


def matches(rule: ModelRule, profile: Profile | None) -> bool:
    """True when the profile meets every condition the rule sets; a rule with none matches everyone."""
    conditions = [
        (rule.plan, profile.plan if profile else None),
        (rule.company_size, profile.company_size if profile else None),
        (rule.industry, profile.industry if profile else None),
        (rule.lifecycle_stage, profile.lifecycle_stage if profile else None),
    ]
    if any(allowed is not None and value not in allowed for allowed, value in conditions):
        return False
    if rule.min_contract_value is not None:
        value = profile.contract_value if profile else None
        return value is not None and value >= rule.min_contract_value
    return True


def model_for(model: Model, profile: Profile | None) -> ScoringModel:
    """The model that scores a customer with this profile."""
    if isinstance(model, ScoringModel):
        return model
    return choose(model, profile)


def choose(models: ModelSet, profile: Profile | None) -> ScoringModel:
    for rule in models.rules:
        if matches(rule, profile):
            return models.models[rule.model]
    return models.models[models.default]


def models_of(model: Model) -> list[ScoringModel]:
    """Every model that may score a customer: the one, or each of a set."""
    return [model] if isinstance(model, ScoringModel) else list(model.models.values())


def label(model: Model) -> str:
    """What scores customers, for a person to compare: `name@version`, or every model of a set, by name."""
    if isinstance(model, ScoringModel):
        return f"{model.name}@{model.version}"
    return ", ".join(f"{m.name}@{m.version}" for _, m in sorted(model.models.items()))
