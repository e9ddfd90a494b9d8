"""Inbound events, one model per kind, as upstream systems publish them.

Every model is frozen and forbids unknown fields, so a typo upstream becomes
a dead letter with a clear reason instead of a silently ignored signal.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from schemas.common import CustomerId, EventId, Identifier, Instant

SCHEMA_VERSION = 1

# Upper bounds that no real purchase, visit or ticket exceeds; a value past
# them is a unit mix-up upstream (cents as dollars, ms as seconds).
MAX_AMOUNT = 1_000_000.0
MAX_VISIT_SECONDS = 24 * 3600.0

# Longest message per field in a reason; longer ones echo a bad value and are cut in the middle.
MAX_MESSAGE = 240


def _not_a_boolean(value: object) -> object:
    # JSON true is not a quantity; pydantic's lax mode would read it as 1.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


# Goes after a field's bounds: bounds placed outside a before-validator are still enforced, but
# pydantic then writes them into the JSON Schema as `ge`/`le`, which no JSON Schema validator knows.
NOT_A_BOOLEAN = BeforeValidator(_not_a_boolean)

EventKind = Literal["purchase", "visit", "ticket", "survey", "profile"]
MAX_CONTRACT_VALUE = 100_000_000.0


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: EventId
    customer_id: CustomerId
    occurred_at: Instant


class PurchaseEvent(_Event):
    """A completed order; refunds are out of scope for the wire contract v1."""

    kind: Literal["purchase"] = "purchase"
    amount: Annotated[float, Field(ge=0.0, le=MAX_AMOUNT), NOT_A_BOOLEAN]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    items: Annotated[int, Field(ge=1, le=10_000), NOT_A_BOOLEAN] = 1


class VisitEvent(_Event):
    """A web or product session."""

    kind: Literal["visit"] = "visit"
    duration_seconds: Annotated[float, Field(ge=0.0, le=MAX_VISIT_SECONDS), NOT_A_BOOLEAN]
    pages: Annotated[int, Field(ge=0, le=100_000), NOT_A_BOOLEAN] = 1


TicketPriority = Literal["low", "normal", "high", "urgent"]
TicketCategory = Literal["question", "bug", "billing", "complaint", "other"]


class TicketEvent(_Event):
    """A help-desk ticket being opened or resolved; both ends share ticket_id."""

    kind: Literal["ticket"] = "ticket"
    ticket_id: Identifier
    action: Literal["opened", "resolved"]
    priority: TicketPriority = "normal"
    category: TicketCategory = "question"


class SurveyEvent(_Event):
    """A CSAT (1-5) or NPS (0-10) answer; the range depends on the survey type."""

    kind: Literal["survey"] = "survey"
    survey_type: Literal["csat", "nps"]
    score: int

    @field_validator("score", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        # Surveys are answered on integer scales; 3.5 or true is an upstream bug.
        if isinstance(value, bool) or (isinstance(value, float) and (math.isnan(value) or not value.is_integer())):
            raise ValueError("score must be a whole number")
        return value

    @field_validator("score")
    @classmethod
    def _score_in_scale(cls, value: int, info: ValidationInfo) -> int:
        survey_type = info.data.get("survey_type")
        if survey_type is None:
            return value  # survey_type itself failed and is reported on its own
        low, high = (1, 5) if survey_type == "csat" else (0, 10)
        if not low <= value <= high:
            raise ValueError(f"{survey_type} score must be between {low} and {high}, got {value}")
        return value


LifecycleStage = Literal["onboarding", "active", "renewal_due"]
CompanySize = Literal["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"]
Label = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]


class CustomerProfile(BaseModel):
    """The latest profile of a customer, as kept in state and carried in every ScoreUpdate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: Label | None = None
    company_size: CompanySize | None = None
    industry: Label | None = None
    lifecycle_stage: LifecycleStage | None = None
    contract_value: float | None = None
    renewal_date: date | None = None
    updated_at: Instant  # occurred_at of the profile event it comes from


class ProfileEvent(_Event):
    """Who the customer is, from the CRM or billing: the latest one replaces the one before.

    Not behaviour: it never scores a customer by itself, it describes one
    (and picks their model, and dates their renewal).
    """

    kind: Literal["profile"] = "profile"
    plan: Label | None = None
    company_size: CompanySize | None = None
    industry: Label | None = None
    lifecycle_stage: LifecycleStage | None = None
    contract_value: Annotated[float, Field(ge=0.0, le=MAX_CONTRACT_VALUE), NOT_A_BOOLEAN] | None = None
    renewal_date: date | None = None

    def profile(self) -> CustomerProfile:
        fields = self.model_dump(include={"plan", "company_size", "industry", "lifecycle_stage", "contract_value",
                                          "renewal_date"})  # fmt: skip
        return CustomerProfile(**fields, updated_at=self.occurred_at)


Event = Annotated[
    Union[PurchaseEvent, VisitEvent, TicketEvent, SurveyEvent, ProfileEvent], Field(discriminator="kind")
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_MODELS: dict[str, type[_Event]] = {
    "purchase": PurchaseEvent,
    "visit": VisitEvent,
    "ticket": TicketEvent,
    "survey": SurveyEvent,
    "profile": ProfileEvent,
}


def describe_errors(exc: ValidationError) -> str:
    """One line naming each bad field and what is wrong with it, for the producer's owner."""
    parts = []
    for error in exc.errors(include_url=False):
        # A tagged union puts the kind first in the path; the field to fix comes after it.
        loc = error["loc"][1:] if len(error["loc"]) > 1 else error["loc"]
        field = ".".join(str(p) if p != "" else "''" for p in loc) or "event"
        parts.append(f"{field}: {_shorten(error['msg'])}")
    return "; ".join(parts)


def _shorten(message: str) -> str:
    """Cut the middle of a message that echoes a long bad value, keeping the end that says what is wrong."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:80]}…{message[-(MAX_MESSAGE - 81):]}"
