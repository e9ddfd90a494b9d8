"""`healthscore backtest` and `healthscore calibrate`: load a log, run scoring offline, report and plot."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from schemas.events import Event
from schemas.model_config import ScoringModel
from scoring.backtest import (
    ALERT_WINDOW_DAYS,
    AlertFigures,
    Evaluation,
    Split,
    alert_figures,
    alerts_before,
    bgnbd_expected_purchases,
    churn_labels,
    evaluate,
    fold_until,
    rfm_rank,
    score_at,
)
from scoring.calibrate import calibrate

REFERENCES = ("bgnbd_expected_purchases", "rfm_rank")


def fold_with_progress(events: list[Event], cutoff: datetime, show: bool) -> dict:
    with Progress(disable=not show, transient=True) as progress:
        task = progress.add_task(f"replaying {len(events):,} events", total=len(events))
        return fold_until(events, cutoff, progress=lambda n: progress.advance(task, n))


def run_backtest(events: list[Event], split: Split, model: ScoringModel, plot: Path | None, show: bool) -> dict:
    """Every metric of the health score and the references on one split, as a JSON-ready dict."""
    started = time.monotonic()
    states = fold_with_progress(events, split.cutoff, show)
    churned = churn_labels(events, states, split)
    scores, tiers = score_at(states, model, split.cutoff)
    health = evaluate(scores, churned, tiers)
    references = {
        "bgnbd_expected_purchases": evaluate(bgnbd_expected_purchases(events, split, states), churned),
        "rfm_rank": evaluate(rfm_rank(states, split.cutoff), churned),
    }
    with Progress(disable=not show, transient=True) as progress:
        progress.add_task(f"replaying the worker's timer over {ALERT_WINDOW_DAYS} days of alerts", total=None)
        alerts = alert_figures(alerts_before(events, model, split), churned, ALERT_WINDOW_DAYS)
    if plot is not None:
        draw(plot, health, references, model)
    return {
        "cutoff": split.cutoff.isoformat(),
        "holdout_end": split.holdout_end.isoformat(),
        "model": {"name": model.name, "version": model.version},
        **_summary(health),
        "references": {name: _summary(ev) for name, ev in references.items()},
        "alert_window_days": ALERT_WINDOW_DAYS,
        "alerts": {trigger: _rounded(figures) for trigger, figures in alerts.items()},
        "seconds": round(time.monotonic() - started, 1),
    }


def _summary(ev: Evaluation) -> dict:
    out = asdict(ev)
    out.pop("roc")
    out["auc"] = round(ev.auc, 4)
    return out


def _rounded(figures: AlertFigures) -> dict:
    return {name: round(value, 4) if isinstance(value, float) else value for name, value in asdict(figures).items()}


def run_calibration(
    events: list[Event], label_split: Split, base: ScoringModel, name: str, show: bool
) -> tuple[ScoringModel, float, int]:
    """Fit on the calibration period only: states at `label_split.cutoff`, churn up to its holdout end."""
    states = fold_with_progress(
        [e for e in events if e.occurred_at < label_split.holdout_end], label_split.cutoff, show
    )
    churned = churn_labels(events, states, label_split)
    model, auc = calibrate(states, churned, base, label_split.cutoff, name)
    return model, auc, len(states)


def write_model(model: ScoringModel, path: Path) -> None:
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Written by `healthscore calibrate`; load with HEALTHSCORE_MODEL_PATH={path}\n"
    path.write_text(header + tomli_w.dumps(model.model_dump(mode="json")))


def draw(path: Path, health: Evaluation, references: dict[str, Evaluation], model: ScoringModel) -> None:
    """ROC curves of the score and the references, and churn rate by score decile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (roc, deciles) = plt.subplots(1, 2, figsize=(12, 5))
    for label, ev in [(f"health score {model.name}@{model.version}", health), *references.items()]:
        roc.plot(*ev.roc, label=f"{label} (AUC {ev.auc:.3f})")
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc.set(xlabel="false positive rate", ylabel="true positive rate (churners caught)", title="Churn ROC")
    roc.legend(loc="lower right", fontsize=8)
    xs = [d for d, _, _ in health.churn_rate_by_decile]
    deciles.bar(xs, [rate for _, _, rate in health.churn_rate_by_decile], color="tab:red")
    deciles.set(
        xlabel="health score decile (1 = lowest scores)",
        ylabel="churn rate in holdout",
        title="Churn rate by score decile",
        xticks=xs,
        ylim=(0, 1),
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def show_report(console: Console, report: dict) -> None:
    table = Table(
        title=f"Backtest: churn in [{report['cutoff'][:10]}, {report['holdout_end'][:10]}) — "
        f"{report['customers']:,} customers, churn rate {report['churn_rate']:.1%}"
    )
    for column in ("ranking", "ROC-AUC", "precision (at_risk+critical)", "recall (at_risk+critical)"):
        table.add_column(column)
    pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
    table.add_row(
        f"health score {report['model']['name']}@{report['model']['version']}",
        f"{report['auc']:.4f}",
        pct(report["precision"]),
        pct(report["recall"]),
    )
    for name, ref in report["references"].items():
        table.add_row(name, f"{ref['auc']:.4f}", "-", "-")
    console.print(table)
    tiers = Table(title="Churn rate by tier")
    for column in ("tier", "customers", "churn rate"):
        tiers.add_column(column)
    for tier, (n, rate) in report["churn_rate_by_tier"].items():
        tiers.add_row(tier, f"{n:,}", f"{rate:.1%}")
    console.print(tiers)
    alerts = Table(
        title=f"Alerts raised in the {report['alert_window_days']} days before the cutoff, against churn in the holdout"
    )
    for column in (
        "trigger",
        "alerts",
        "customers",
        "precision",
        "lift",
        "normalized lift",
        "relative risk",
        "recall",
        "per 1,000 / month",
    ):
        alerts.add_column(column, justify="left" if column == "trigger" else "right")
    number = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for trigger, f in report["alerts"].items():
        alerts.add_row(
            trigger,
            f"{f['count']:,}",
            f"{f['customers']:,}",
            pct(f["precision"]),
            number(f["lift"]),
            number(f["normalized_lift"]),
            number(f["relative_risk"]),
            pct(f["recall"]),
            f"{f['per_1000_per_month']:.1f}",
        )
    console.print(alerts)


def day(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)


def split_of(cutoff: str, holdout_end: str) -> Split:
    return Split.from_days(day(cutoff), day(holdout_end))
