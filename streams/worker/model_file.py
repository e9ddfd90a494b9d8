"""Loading the scoring-model file (TOML) at start-up, failing loudly with the path and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from schemas.model_config import Model, ModelSet, ScoringModel
from streams.exceptions import ModelFileError


def load_model(path: Path | None) -> Model:
    """The model in `path`, or the built-in defaults when no file is configured.

    A file with a `[models]` table holds several models and the rules that
    choose one per customer (a ModelSet); otherwise it is one model.
    """
    if path is None:
        return ScoringModel()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModelFileError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return ModelSet.model_validate(data) if "models" in data else ScoringModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ModelFileError(f"{path}: invalid scoring model: {problems}") from exc
