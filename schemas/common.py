"""Types shared by every message: identifiers and timezone-aware instants."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, StringConstraints

# Identifiers are opaque strings chosen upstream; the bounds keep keys, Redis
# names and log lines sane without guessing at anyone's id format.
MAX_ID_LENGTH = 128
# Control characters (C0, DEL, C1) and every character that Unicode or ECMA-262 counts as whitespace,
# listed: `\s` means a different set to Python's re, the Rust regex crate that pydantic uses and the
# ECMA-262 dialect of JSON Schema validators (U+0085, U+FEFF).
NO_SPACE_OR_CONTROL = r"^[^\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+$"

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=NO_SPACE_OR_CONTROL)]
CustomerId = Identifier
EventId = Identifier

# Naive datetimes are rejected: an event without a zone cannot be placed on
# the event-time axis that drives every window and score.
Instant = AwareDatetime
