"""Preview: the candidate model next to the current one on the same customers, before go-live."""

import json

from click.testing import CliRunner

from schemas.model_config import ScoringModel
from scoring.backtest import fold_until
from scoring.preview import compare
from streams.tools.cli import main
from streams.worker.model_file import load_model
from tests.factories import at, profile, purchase, survey, visit
from tests.samples import SEGMENTED

MODEL = ScoringModel()


def log() -> list:
    """Ten enterprise customers with a mediocre survey, ten self-serve ones with the same behaviour."""
    events = []
    for n in range(20):
        cid = f"c{n:02d}"
        if n < 10:
            events.append(profile(cid, 0, plan="enterprise"))
        events += [purchase(cid, 1 + n % 3), visit(cid, 5), survey(cid, 20, "csat", 3), purchase(cid, 40)]
    return sorted(events, key=lambda e: e.occurred_at)


def test_only_the_customers_whose_model_changes_move_and_both_sides_count_everyone() -> None:
    states = fold_until(log(), at(60))
    result = compare(states, MODEL, load_model(SEGMENTED), at(60))
    assert sum(result.current.tier_counts().values()) == sum(result.candidate.tier_counts().values()) == 20
    assert sum(result.current.histogram()) == sum(result.candidate.histogram()) == 20
    assert {m.customer_id for m in result.moves} <= {f"c{n:02d}" for n in range(10)}  # only the enterprise ones
    assert result.moves, "the enterprise model's stricter tiers should move someone"
    assert all(m.current != m.candidate for m in result.moves)
    assert result.current.auc is None  # no churn labels given


def test_with_churn_labels_both_models_get_an_auc() -> None:
    states = fold_until(log(), at(60))
    churned = {cid: int(cid[1:]) % 2 == 0 for cid in states}
    result = compare(states, MODEL, MODEL, at(60), churned)
    assert result.current.auc == result.candidate.auc is not None and not result.moves


def test_the_command_prints_the_comparison_and_draws_both_distributions(tmp_path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in log()) + "not json\n")
    plot = tmp_path / "preview.png"
    out = CliRunner().invoke(
        main, ["preview", "--candidate", str(SEGMENTED), "--dataset", str(events), "--plot", str(plot)]
    )
    assert out.exit_code == 0, out.output
    assert "Tiers: current vs candidate (20 customers)" in out.output
    assert "would change tier" in out.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
