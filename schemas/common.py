"""Types shared by every message: identifiers and timezone-aware instants.

Inbound messages use `Timestamp` and `CalendarDate`, which accept exactly the
strings their JSON Schema `pattern` describes. Patterns are written in the
part of regular-expression syntax that means the same to Python's `re`, the
Rust regex crate that pydantic uses and the ECMA-262 dialect that JSON
Schema validators use: explicit ASCII classes (`[0-9]`, never `\\d`, which
also matches other scripts' digits in some of them), an explicit list of
whitespace instead of `\\s` (which differs on U+0085 and U+FEFF), no
lookaround (the Rust crate has none).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Strict, StringConstraints, WithJsonSchema

# Identifiers are opaque strings chosen upstream; the bounds keep keys, Redis
# names and log lines sane without guessing at anyone's id format.
MAX_ID_LENGTH = 128
# Control characters (C0, DEL, C1) and every character that Unicode or ECMA-262 counts as whitespace.
NO_SPACE_OR_CONTROL = r"^[^\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+$"

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=NO_SPACE_OR_CONTROL)]
CustomerId = Identifier
EventId = Identifier

# Naive datetimes are rejected: an event without a zone cannot be placed on
# the event-time axis that drives every window and score. Outputs and state
# use this; inputs use the stricter Timestamp below.
Instant = AwareDatetime

# A real calendar day, 1000-01-01 to 9999-12-31, leap years included (a year before 1000 is a
# producer's bug, such as a two-digit year written with %Y). Days past a month's end fail here,
# so a JSON Schema validator that ignores `format` still refuses 2025-02-30 as the worker does.
_YEAR = "[1-9][0-9]{3}"
_LEAP_YEAR = "(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)"
_MONTH_DAY = "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
# RFC 3339 `date-time` with upper-case T and Z, seconds required, no leap second (Python has none).
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]+)?"
_ZONE = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
DATE_PATTERN = f"^{_DATE}$"
TIMESTAMP_PATTERN = f"^{_DATE}T{_TIME}{_ZONE}$"
TIMESTAMP_EXAMPLE = "2025-01-05T09:30:00Z or 2025-01-05T10:30:00.250+01:00"
SHOWN = 40  # characters of a refused string quoted back in the reason: enough to see its form


def _matching(pattern: str, what: str, python_type: type) -> BeforeValidator:
    """Let through a Python value of the type, or a string in the pattern's form; refuse anything else.

    Strict JSON parsing alone would take more forms than the pattern (a
    space for T, `+0100`, digits of a Unix time in a string), and Python
    callers pass real datetimes and dates, which the pattern cannot check.
    """
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, python_type) or (isinstance(value, str) and compiled.fullmatch(value)):
            return value
        got = repr(_cut(value)) if isinstance(value, str) else _json_type(value)
        raise ValueError(f"must be {what}; got {got}")

    return BeforeValidator(check)


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}…"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {type(None): "null", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


# Strict(False): what a before-validator passes on is a Python value, and a strict model would refuse a
# Python string even in JSON mode; the pattern has already narrowed the strings to those wanted.
Timestamp = Annotated[
    AwareDatetime,
    Strict(False),
    _matching(TIMESTAMP_PATTERN, f"an RFC 3339 date-time with a time zone, like {TIMESTAMP_EXAMPLE}", datetime),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
]
CalendarDate = Annotated[
    date,
    Strict(False),
    _matching(DATE_PATTERN, "a date written YYYY-MM-DD, like 2025-06-30", date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]


def when(field: str, value: str, then: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema rule for a model's `allOf`: a message whose `field` is `value` must also match `then`."""
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": then}
