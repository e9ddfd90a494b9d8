"""Inbound events, one model per kind, as upstream systems publish them.

Every model is frozen and forbids unknown fields, so a typo upstream becomes
a dead letter with a clear reason instead of a silently ignored signal. It
is strict: each JSON value must already be of the field's JSON type, as the
generated JSON Schema says, so a producer that passes the schema passes the
worker.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from schemas.common import CalendarDate, CustomerId, EventId, Identifier, Instant, Timestamp, when

SCHEMA_VERSION: Final = 1

# Upper bounds that no real purchase, visit or ticket exceeds; a value past
# them is a unit mix-up upstream (cents as dollars, ms as seconds).
MAX_AMOUNT = 1_000_000.0
MAX_VISIT_SECONDS = 24 * 3600.0

# Longest message per field in a reason; longer ones echo a bad value and are cut in the middle.
MAX_MESSAGE = 240


def _the_integer(value: object) -> object:
    # A Literal compares with ==, so even in strict mode it takes true and 1.0 for 1. The schema's
    # `const` refuses true; 1.0 is refused as in every integer field (see docs/reference/contracts.md).
    if type(value) is not int:
        raise ValueError("must be the integer 1")
    return value


EventKind = Literal["purchase", "visit", "ticket", "survey", "profile"]
MAX_CONTRACT_VALUE = 100_000_000.0


def _kind_is_required(schema: dict[str, Any], model: type) -> None:
    # The worker picks the model by `kind`, so on the wire it is required; its default is for Python callers.
    schema["required"] = ["kind", *schema["required"]]


class _Event(BaseModel):
    # Strict: a JSON number where a string is due, a string where a number is due, 2.0 for an
    # integer or true for a number are refused, as the JSON Schema refuses them (an int for a
    # float is a JSON number, and taken).
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, strict=True, json_schema_extra=_kind_is_required
    )

    schema_version: Annotated[Literal[1], BeforeValidator(_the_integer)] = SCHEMA_VERSION
    event_id: EventId
    customer_id: CustomerId
    occurred_at: Timestamp


class PurchaseEvent(_Event):
    """A completed order; refunds are out of scope for the wire contract v1."""

    kind: Literal["purchase"] = "purchase"
    amount: Annotated[float, Field(ge=0.0, le=MAX_AMOUNT)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    items: Annotated[int, Field(ge=1, le=10_000)] = 1


class VisitEvent(_Event):
    """A web or product session."""

    kind: Literal["visit"] = "visit"
    duration_seconds: Annotated[float, Field(ge=0.0, le=MAX_VISIT_SECONDS)]
    pages: Annotated[int, Field(ge=0, le=100_000)] = 1


TicketPriority = Literal["low", "normal", "high", "urgent"]
TicketCategory = Literal["question", "bug", "billing", "complaint", "other"]


class TicketEvent(_Event):
    """A help-desk ticket being opened or resolved; both ends share ticket_id."""

    kind: Literal["ticket"] = "ticket"
    ticket_id: Identifier
    action: Literal["opened", "resolved"]
    priority: TicketPriority = "normal"
    category: TicketCategory = "question"


SurveyType = Literal["csat", "nps"]
# Answers are whole numbers on the survey's own scale.
SURVEY_SCALES: dict[SurveyType, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10)}


def _survey_schema(schema: dict[str, Any], model: type) -> None:
    _kind_is_required(schema, model)
    schema["allOf"] = [
        when("survey_type", survey_type, {"properties": {"score": {"minimum": low, "maximum": high}}})
        for survey_type, (low, high) in SURVEY_SCALES.items()
    ]


class SurveyEvent(_Event):
    """A CSAT (1-5) or NPS (0-10) answer; the range depends on the survey type."""

    model_config = ConfigDict(json_schema_extra=_survey_schema)

    kind: Literal["survey"] = "survey"
    survey_type: SurveyType
    score: int

    @field_validator("score")
    @classmethod
    def _score_in_scale(cls, value: int, info: ValidationInfo) -> int:
        survey_type = info.data.get("survey_type")
        if survey_type is None:
            return value  # survey_type itself failed and is reported on its own
        low, high = SURVEY_SCALES[survey_type]
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
    contract_value: Annotated[float, Field(ge=0.0, le=MAX_CONTRACT_VALUE)] | None = None
    renewal_date: CalendarDate | None = None

    def profile(self) -> CustomerProfile:
        fields = self.model_dump(
            include={"plan", "company_size", "industry", "lifecycle_stage", "contract_value", "renewal_date"}
        )
        return CustomerProfile(**fields, updated_at=self.occurred_at)


Event = Annotated[PurchaseEvent | VisitEvent | TicketEvent | SurveyEvent | ProfileEvent, Field(discriminator="kind")]
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
    return f"{message[:80]}…{message[-(MAX_MESSAGE - 81) :]}"
