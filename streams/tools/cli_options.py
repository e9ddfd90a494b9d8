"""Checked values for the `healthscore` command: a bad one is a one-line error naming it, found before any connection.

Click reports a failed option type as `Error: Invalid value for '--reason': ...`
with exit code 2. The wire models validate again when a request is built;
`one_line` turns what they still refuse into the same kind of line instead
of pydantic's multi-line dump.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import click
from pydantic import TypeAdapter, ValidationError

from schemas.common import MAX_ID_LENGTH, CustomerId
from streams.settings import Settings


class CustomerIdType(click.ParamType):
    """A customer id as the wire models accept it, so a typo is refused here rather than after connecting."""

    name = "customer_id"
    _adapter: TypeAdapter[str] = TypeAdapter(CustomerId)

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return self._adapter.validate_python(value)
        except ValidationError:
            self.fail(
                f"{value!r}: a customer id is 1 to {MAX_ID_LENGTH} characters, no spaces or control characters",
                param,
                ctx,
            )


class NonBlank(click.ParamType):
    """Text a person types for the audit trail (a reason, an author): surrounding spaces go, blank is refused."""

    name = "text"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not text:
            self.fail("must not be empty or blank", param, ctx)
        return text


class Day(click.ParamType):
    """A calendar day, YYYY-MM-DD; kept as that text, which sorts as the days do."""

    name = "YYYY-MM-DD"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a day written YYYY-MM-DD", param, ctx)


def one_line(exc: ValidationError, names: Mapping[str, str]) -> str:
    """Every error of a model on one line, each led by the option it came from (`names`: field -> option)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        where = names.get(field, field)
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def settings_from_env() -> Settings:
    """Settings, or a one-line error naming each bad HEALTHSCORE_* variable, not its value (it may be a secret)."""
    prefix = Settings.model_config["env_prefix"]
    try:
        return Settings()
    except ValidationError as exc:
        fields = {name: f"{prefix}{name.upper()}" for name in Settings.model_fields}
        raise click.ClickException(one_line(exc, fields)) from exc
