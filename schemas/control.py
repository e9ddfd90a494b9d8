"""Requests that change what healthscore keeps rather than what it scores."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import CustomerId, Identifier, Instant


class ErasureRequest(BaseModel):
    """Forget a customer, for a data-protection request (right to erasure).

    Everything healthscore holds about the customer goes: state, Redis
    snapshot, pending timer checks; their events that occurred up to
    `requested_at` are never scored again, even when they are redelivered or
    still waiting in an input topic. Events after it start a new customer.
    `reason` is for the audit trail of whoever sends it and is never logged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["erasure"] = "erasure"
    request_id: Identifier
    customer_id: CustomerId
    requested_at: Instant
    reason: str = Field("", max_length=1000)
