"""Types shared by every message: identifiers and timezone-aware instants."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, StringConstraints

# Identifiers are opaque strings chosen upstream; the bounds keep keys, Redis
# names and log lines sane without guessing at anyone's id format.
MAX_ID_LENGTH = 128

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[^\s\x00-\x1f]+$"),
]
CustomerId = Identifier
EventId = Identifier

# Naive datetimes are rejected: an event without a zone cannot be placed on
# the event-time axis that drives every window and score.
Instant = AwareDatetime
