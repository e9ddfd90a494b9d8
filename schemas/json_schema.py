"""JSON Schema (draft 2020-12) of every message healthscore reads or writes, for the teams on both sides.

`healthscore schemas` writes these to schemas/json/; a test regenerates them
in memory and fails when a model changed without the files being rewritten.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel

from schemas.control import AuditRecord, ErasureRequest, OverrideRequest
from schemas.events import ProfileEvent, PurchaseEvent, SurveyEvent, TicketEvent, VisitEvent
from schemas.model_config import ModelSet, ScoringModel
from schemas.outputs import ChurnRiskAlert, DeadLetter, ScoreUpdate

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# File stem -> (model, the side of the wire the schema describes). Inputs and the model file are
# what healthscore accepts (validation); outputs are what it sends (serialization).
CONTRACTS: dict[str, tuple[type[BaseModel], Literal["validation", "serialization"]]] = {
    "purchase-event": (PurchaseEvent, "validation"),
    "visit-event": (VisitEvent, "validation"),
    "ticket-event": (TicketEvent, "validation"),
    "survey-event": (SurveyEvent, "validation"),
    "profile-event": (ProfileEvent, "validation"),
    "erasure-request": (ErasureRequest, "validation"),
    "override-request": (OverrideRequest, "validation"),
    "audit-record": (AuditRecord, "serialization"),
    "score-update": (ScoreUpdate, "serialization"),
    "churn-risk-alert": (ChurnRiskAlert, "serialization"),
    "dead-letter": (DeadLetter, "serialization"),
    "scoring-model": (ScoringModel, "validation"),
    "scoring-model-set": (ModelSet, "validation"),
}


def file_name(stem: str) -> str:
    return f"{stem}.schema.json"


def json_schemas() -> dict[str, str]:
    """File name -> schema text (stable key order, trailing newline), one per contract."""
    files = {}
    for stem, (model, mode) in CONTRACTS.items():
        schema = {"$schema": DRAFT, "$id": file_name(stem), **model.model_json_schema(mode=mode)}
        files[file_name(stem)] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files
