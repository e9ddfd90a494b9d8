"""`healthscore preview`: a candidate model against the current one, on an event log or the workers' live states."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from schemas.events import Event
from schemas.model_config import Model
from scoring.backtest import Split, churn_labels
from scoring.instants import from_us
from scoring.preview import BUCKETS, Preview, compare
from streams.tools.backtest import fold_with_progress
from streams.tools.live_states import LiveStates, read_live_states
from streams.tools.progress import progress


def run_preview(
    events: list[Event],
    current: Model,
    candidate: Model,
    cutoff: datetime | None,
    holdout_end: datetime | None,
    show: bool,
) -> Preview:
    """Fold the log up to `cutoff` (default: just after its last event) and compare the two models there.

    With `holdout_end`, churn (no purchase in [cutoff, holdout_end)) labels each customer and both
    AUCs are computed, as in `healthscore backtest`.
    """
    at = cutoff or max(e.occurred_at for e in events) + timedelta(seconds=1)
    states = fold_with_progress(events, at, show)
    churned = churn_labels(events, states, Split(at, holdout_end)) if holdout_end is not None else None
    return compare(states, current, candidate, at, churned)


def run_live_preview(
    url: str, token: SecretStr | None, current: Model, candidate: Model
) -> tuple[Preview, LiveStates, datetime]:
    """Both models over every customer state the running workers hold, at the latest moment a worker has seen.

    With the wall clock that is now; with the event-time clock, the newest
    event time of the workers (a customer is never scored before their last
    score). Nothing is changed on the workers: the states are read, not written.
    """
    with progress("customer states read", None) as advance:
        live = read_live_states(url, token, read=advance)
    scored = (from_us(s.last_scored_at) for s in live.states.values() if s.last_scored_at is not None)
    now = max([*live.clocks, *scored], default=datetime.now(timezone.utc))
    return compare(live.states, current, candidate, now), live, now


def show_preview(console: Console, preview: Preview, shown: int) -> None:
    current, candidate = preview.current, preview.candidate
    tiers = Table(title=f"Tiers: {current.label} vs {candidate.label} ({len(current.scores):,} customers)")
    for column in ("tier", current.label, candidate.label, "change"):
        tiers.add_column(column, justify="left" if column == "tier" else "right")
    before, after = current.tier_counts(), candidate.tier_counts()
    for tier in before:
        tiers.add_row(tier, f"{before[tier]:,}", f"{after[tier]:,}", f"{after[tier] - before[tier]:+,}")
    console.print(tiers)

    spread = Table(title="Score distribution (customers per 10 points)")
    for column in ("score", current.label, candidate.label):
        spread.add_column(column, justify="right")
    for low, a, b in zip(BUCKETS, current.histogram(), candidate.histogram(), strict=True):
        spread.add_row(f"{low}-{low + 10}", f"{a:,}", f"{b:,}")
    console.print(spread)

    moves = Table(title=f"{len(preview.moves):,} customers would change tier (largest score change first)")
    for column in ("customer", "tier now", "tier after", "score now", "score after"):
        moves.add_column(column)
    for move in preview.moves[:shown]:
        moves.add_row(
            move.customer_id, move.current, move.candidate, f"{move.current_score:.1f}", f"{move.candidate_score:.1f}"
        )
    console.print(moves)
    if current.auc is not None and candidate.auc is not None:
        console.print(
            f"churn ROC-AUC: {current.label} {current.auc:.4f}, {candidate.label} {candidate.auc:.4f} "
            f"({candidate.auc - current.auc:+.4f})"
        )


def draw_preview(path: Path, preview: Preview) -> None:
    """Both score distributions on one chart, PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(figsize=(8, 4.5))
    edges = [*BUCKETS, 100]
    for side_, colour in ((preview.current, "tab:blue"), (preview.candidate, "tab:orange")):
        auc = f", AUC {side_.auc:.3f}" if side_.auc is not None else ""
        axes.hist(list(side_.scores.values()), bins=edges, alpha=0.55, color=colour, label=f"{side_.label}{auc}")
    axes.set(xlabel="health score", ylabel="customers", title="Score distribution: current vs candidate model")
    axes.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
