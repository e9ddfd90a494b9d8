"""The scoring-model file: the shipped defaults load, and a bad file names its path and field."""

from pathlib import Path

import pytest

from schemas.model_config import Linear, Log, Logistic, ScoringModel
from streams.exceptions import ModelFileError
from streams.worker.model_file import load_model
from tests.paths import MODELS

DEFAULT = MODELS / "default.toml"


def test_the_shipped_file_is_exactly_the_built_in_defaults() -> None:
    assert load_model(DEFAULT) == ScoringModel()
    assert load_model(None) == ScoringModel()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, field",
    [
        ('name = "x"\n[weights]\nloyalty = -1', "weights.loyalty: Input should be greater than or equal to 0"),
        (
            "[weights]\nsatisfaction = 0\nloyalty = 0\nactivity = 0\nfinancial = 0",
            "at least one weight must be positive",
        ),
        ("[tiers]\nhealthy = 40\nwatch = 50", "thresholds must descend"),
        ('[signals.nps]\nnormaliser = { kind = "cubic" }', "signals.nps.normaliser"),
        ('[signals.csat]\nnormaliser = { kind = "log", saturation = 0 }', "signals.csat.normaliser.log.saturation"),
        ('[alerts]\ncooldown = "a week"', "alerts.cooldown"),
        ("[alerts.triggers.score_drop]\npoints = 0", "alerts.triggers.score_drop.points"),
        ("[segments]\nhigh_value = 1", "segments.high_value: Extra inputs are not permitted"),
        ("wieghts = 1", "wieghts: Extra inputs are not permitted"),
    ],
)
def test_a_bad_file_fails_naming_the_path_and_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ModelFileError) as raised:
        load_model(path)
    assert str(raised.value).startswith(f"{path}: invalid scoring model: ")
    assert field in str(raised.value)


def test_unreadable_and_malformed_files_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"missing\.toml: cannot read the model file"):
        load_model(tmp_path / "missing.toml")
    with pytest.raises(ModelFileError, match=r"model\.toml: not valid TOML"):
        load_model(write(tmp_path, "[weights\n"))


def test_a_partial_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    model = load_model(write(tmp_path, 'name = "enterprise"\nversion = "7"\n[weights]\nsatisfaction = 50\n'))
    assert (model.name, model.version, model.weights.satisfaction, model.weights.loyalty) == ("enterprise", "7", 50, 25)


@pytest.mark.parametrize(
    "normaliser, points",
    [
        (Linear(low=1, high=5), [(0, 0.0), (1, 0.0), (3, 0.5), (5, 1.0), (9, 1.0)]),
        (Linear(low=45, high=7), [(7, 1.0), (26, 0.5), (45, 0.0), (90, 0.0)]),
        (Log(saturation=10), [(0, 0.0), (10, 1.0), (100, 1.0)]),
        (Logistic(midpoint=30, steepness=-0.2), [(30, 0.5)]),
    ],
)
def test_normalisers_map_raw_values_onto_0_1(normaliser, points) -> None:
    for raw, value in points:
        assert normaliser(raw) == pytest.approx(value)
    assert 0.0 < Log(saturation=10)(3) < 1.0 and Logistic(midpoint=30, steepness=-0.2)(60) < 0.01
