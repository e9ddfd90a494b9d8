"""Benchmark: healthscore's simple 12-month CLV against lifetimes' BG/NBD + Gamma-Gamma on CDNOW.

Why: scoring/clv.py trades statistical rigour for a formula a customer-success
manager can check by hand. This script measures what that costs on a real
purchase log, so the trade-off is a number rather than a belief. It is a
benchmark, not a test: it asserts nothing and only reports.

Data: the CDNOW master log shipped inside the lifetimes wheel (23,570
customers who first bought in 1997-Q1, purchases to 1998-06). Purchases of
one customer on one day are merged into one purchase. Calibration is
1997-01-01..1997-09-30 and holdout 1997-10-01..1998-06-30 (273 days each).

Run from the repository root:

    python benchmarks/clv_vs_lifetimes.py

It prints a Markdown table and writes it, with the run's context, to
docs/performance/clv-benchmark.md.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import calibration_and_holdout_data
from scipy.stats import mannwhitneyu, spearmanr

from schemas.events import PurchaseEvent
from schemas.model_config import ScoringModel
from scoring.clv import clv_12m
from scoring.instants import to_us
from scoring.state import CustomerState, apply_event, new_state
from scoring.windows import micros

CALIBRATION_START = pd.Timestamp("1997-01-01")
CALIBRATION_END = pd.Timestamp("1997-09-30")
HOLDOUT_END = pd.Timestamp("1998-06-30")
HOLDOUT_DAYS = (HOLDOUT_END - CALIBRATION_END).days  # 273
CALIBRATION_DAYS = (CALIBRATION_END - CALIBRATION_START).days + 1  # 273
NOW = datetime(1997, 10, 1, tzinfo=timezone.utc)  # the moment healthscore is asked for its CLV
# clv_12m is linear in the average order value, so scoring a copy of the
# state whose orders are all worth this much and dividing by it recovers the
# expected purchase count; large enough that clv_12m's rounding to cents is negligible.
UNIT_ORDER = 1000.0
COMMAND = "python benchmarks/clv_vs_lifetimes.py"
REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = REPO_ROOT / "docs" / "performance" / "clv-benchmark.md"


@dataclass(frozen=True)
class Prediction:
    """One model's holdout predictions per customer (indexed like the actuals), and how long it took."""

    name: str
    spend: pd.Series
    purchases: pd.Series
    seconds: float


# --- data -------------------------------------------------------------------------------------


def load_cdnow() -> pd.DataFrame:
    """The CDNOW log as one row per customer-day (customer_id, date, cds, value).

    Read straight from the wheel because lifetimes.datasets does not import
    with setuptools >= 82. Same-day rows are merged: BG/NBD counts purchase
    days, and healthscore should see the same purchases.
    """
    path = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
    with path.open("r") as handle:
        raw = pd.read_csv(
            handle,
            sep=r"\s+",
            header=0,
            names=["customer_id", "date", "cds", "value"],
            dtype={"customer_id": str, "date": str, "cds": int, "value": float},
        )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw.groupby(["customer_id", "date"], as_index=False)[["cds", "value"]].sum()


def split(log: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibration and holdout rows; nothing in the log predates the calibration start."""
    calibration = log[(log["date"] >= CALIBRATION_START) & (log["date"] <= CALIBRATION_END)]
    holdout = log[(log["date"] > CALIBRATION_END) & (log["date"] <= HOLDOUT_END)]
    return calibration, holdout


def per_customer(rows: pd.DataFrame, column: str, customers: pd.Index) -> pd.Series:
    """Sum of `column` per customer, 0 for customers without rows, so every model is judged on everyone."""
    return rows.groupby("customer_id")[column].sum().reindex(customers, fill_value=0.0).astype(float)


# --- models -----------------------------------------------------------------------------------


def timed(fit_predict: Callable[[], tuple[pd.Series, pd.Series]], name: str) -> Prediction:
    """Run one model's fit+predict and record its wall time, so the speed column is like for like."""
    start = time.perf_counter()
    spend, purchases = fit_predict()
    return Prediction(name, spend, purchases, time.perf_counter() - start)


def lifetimes_model(log: pd.DataFrame, customers: pd.Index) -> tuple[pd.Series, pd.Series]:
    """BG/NBD for the number of holdout purchases, Gamma-Gamma for their value: the textbook reference.

    Gamma-Gamma is fitted on repeat buyers only (its monetary value is the
    mean of repeat purchases, and it needs it positive: one repeat buyer whose
    repeat orders were all $0 is left out of the fit). For one-time buyers its
    conditional expectation is the population mean.
    """
    summary = calibration_and_holdout_data(
        log,
        "customer_id",
        "date",
        calibration_period_end=CALIBRATION_END,
        observation_period_end=HOLDOUT_END,
        freq="D",
        monetary_value_col="value",
    ).reindex(customers)
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    purchases = bgf.conditional_expected_number_of_purchases_up_to_time(
        HOLDOUT_DAYS, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"]
    )
    repeat = summary[(summary["frequency_cal"] > 0) & (summary["monetary_value_cal"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(repeat["frequency_cal"], repeat["monetary_value_cal"])
    order_value = ggf.conditional_expected_average_profit(summary["frequency_cal"], summary["monetary_value_cal"])
    purchases = pd.Series(np.asarray(purchases, dtype=float), index=customers)
    return purchases * np.asarray(order_value, dtype=float), purchases


def purchase_events(calibration: pd.DataFrame) -> dict[str, list[PurchaseEvent]]:
    """Each customer's calibration purchases as healthscore events, in date order, at midnight UTC."""
    events: dict[str, list[PurchaseEvent]] = {}
    rows = calibration.sort_values(["customer_id", "date"])
    for customer_id, day, value in zip(rows["customer_id"], rows["date"], rows["value"]):
        at = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        event = PurchaseEvent(
            event_id=f"{customer_id}-{day:%Y%m%d}", customer_id=customer_id, occurred_at=at, amount=float(value)
        )
        events.setdefault(customer_id, []).append(event)
    return events


def fold(customer_id: str, events: list[PurchaseEvent]) -> CustomerState:
    """A customer's state exactly as the stream processor would build it, via the pure fold."""
    state = new_state(customer_id)
    for event in events:
        state, _ = apply_event(state, event)
    return state


def expected_purchases(state: CustomerState, model: ScoringModel) -> float:
    """Purchases clv_12m expects in 12 months: its value with every order worth UNIT_ORDER, divided back.

    Derived from clv_12m itself rather than re-implementing its formula, so it
    cannot drift from what healthscore ships; works for zero-spend customers too.
    """
    unit = msgspec.structs.replace(state, total_spend=micros(UNIT_ORDER) * state.purchase_count)
    return clv_12m(unit, model, to_us(NOW)) / UNIT_ORDER


def healthscore_model(calibration: pd.DataFrame, customers: pd.Index) -> tuple[pd.Series, pd.Series]:
    """healthscore's CLV from folded state, scaled from 12 months to the 273-day holdout."""
    model = ScoringModel()
    states = {cid: fold(cid, events) for cid, events in purchase_events(calibration).items()}
    scale = HOLDOUT_DAYS / 365.0
    spend = {cid: clv_12m(state, model, to_us(NOW)) * scale for cid, state in states.items()}
    purchases = {cid: expected_purchases(state, model) * scale for cid, state in states.items()}
    return everyone(spend, customers), everyone(purchases, customers)


def everyone(values: dict[str, float], customers: pd.Index) -> pd.Series:
    """A per-customer dict as a Series over all customers; someone with no calibration purchase predicts 0."""
    return pd.Series(values, dtype=float).reindex(customers, fill_value=0.0)


def naive_model(calibration: pd.DataFrame, customers: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Same spend and purchase rate as in calibration: the floor any model should clear."""
    rate = HOLDOUT_DAYS / CALIBRATION_DAYS
    spend = per_customer(calibration, "value", customers) * rate
    purchases = calibration.groupby("customer_id").size().reindex(customers, fill_value=0).astype(float) * rate
    return spend, purchases


# --- metrics ----------------------------------------------------------------------------------


def roc_auc(score: pd.Series, positive: pd.Series) -> float:
    """Probability a random holdout buyer outranks a random non-buyer (ties count half): Mann-Whitney U / n1 n0."""
    pos, neg = score[positive].to_numpy(), score[~positive].to_numpy()
    u = mannwhitneyu(pos, neg, alternative="two-sided").statistic
    return float(u) / (len(pos) * len(neg))


def top_decile_capture(score: pd.Series, actual: pd.Series) -> float:
    """Share of actual holdout spend held by the 10% the model ranks highest.

    Customers tied at the cut-off are counted in proportion to the seats left,
    i.e. the expected capture under random tie-breaking, so ties (common for
    the simple CLV) neither help nor hurt and the result is deterministic.
    """
    k = len(score) // 10
    values, spent = score.to_numpy(), actual.to_numpy()
    cutoff = np.sort(values)[::-1][k - 1]
    above, tied = values > cutoff, values == cutoff
    seats = k - int(above.sum())
    captured = spent[above].sum() + spent[tied].sum() * seats / int(tied.sum())
    return float(captured / spent.sum())


def spend_metrics(prediction: Prediction, actual: pd.Series) -> dict[str, float]:
    """The spend metrics of one model against the actual holdout spend."""
    predicted = prediction.spend
    return {
        "spearman": float(spearmanr(predicted, actual).statistic),
        "mae": float((predicted - actual).abs().mean()),
        "total": float(predicted.sum()),
        "auc": roc_auc(predicted, actual > 0),
        "top10": top_decile_capture(predicted, actual),
        "seconds": prediction.seconds,
    }


def purchase_metrics(prediction: Prediction, actual: pd.Series) -> dict[str, float]:
    """Expected against actual purchase counts: separates 'how often' errors from 'how much' errors."""
    predicted = prediction.purchases
    return {
        "spearman": float(spearmanr(predicted, actual).statistic),
        "mae": float((predicted - actual).abs().mean()),
        "total": float(predicted.sum()),
    }


# --- report -----------------------------------------------------------------------------------


def spend_table(results: list[tuple[str, dict[str, float]]], actual_total: float) -> str:
    """Markdown table of the spend metrics; readable as plain text too."""
    lines = [
        "| model | Spearman ρ | MAE $/customer | predicted total $ | actual total $ | ROC-AUC (bought?) "
        "| top-decile capture | fit+predict s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in results:
        lines.append(
            f"| {name} | {m['spearman']:.3f} | {m['mae']:.2f} | {m['total']:,.0f} | {actual_total:,.0f} "
            f"| {m['auc']:.3f} | {m['top10']:.1%} | {m['seconds']:.2f} |"
        )
    return "\n".join(lines)


def purchase_table(results: list[tuple[str, dict[str, float]]], actual_total: float) -> str:
    """Markdown table of the expected-purchase metrics."""
    lines = [
        "| model | Spearman ρ | MAE purchases/customer | predicted purchases | actual purchases |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, m in results:
        lines.append(f"| {name} | {m['spearman']:.3f} | {m['mae']:.3f} | {m['total']:,.0f} | {actual_total:,.0f} |")
    return "\n".join(lines)


def by_segment(
    predictions: list[Prediction], calibration: pd.DataFrame, actual_spend: pd.Series, actual_purchases: pd.Series
) -> dict[str, dict[str, float]]:
    """Metrics for one-time and repeat calibration buyers apart: the two models treat them very differently."""
    customers = actual_spend.index
    counts = calibration.groupby("customer_id").size().reindex(customers, fill_value=0)
    out: dict[str, dict[str, float]] = {}
    for segment, members in (("one-time", counts == 1), ("repeat", counts > 1)):
        row = {"customers": float(members.sum()), "actual_purchases": float(actual_purchases[members].mean())}
        for p in predictions:
            row[f"{p.name}_purchases"] = float(p.purchases[members].mean())
            row[f"{p.name}_spearman"] = float(spearmanr(p.spend[members], actual_spend[members]).statistic)
        out[segment] = row
    return out


def segment_table(segments: dict[str, dict[str, float]], names: list[str]) -> str:
    """Markdown table: holdout purchases per customer and spend Spearman, per segment and model."""
    header = (
        "| calibration buyers | customers | actual purchases/customer | "
        + " | ".join(f"{n} purchases/customer" for n in names)
        + " | "
        + " | ".join(f"{n} Spearman ρ" for n in names)
        + " |"
    )
    lines = [header, "|---|" + "---:|" * (2 + 2 * len(names))]
    for segment, row in segments.items():
        cells = [f"{row['customers']:,.0f}", f"{row['actual_purchases']:.2f}"]
        cells += [f"{row[f'{n}_purchases']:.2f}" for n in names]
        cells += [f"{row[f'{n}_spearman']:.3f}" for n in names]
        lines.append(f"| {segment} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interpretation(
    spend: dict[str, dict[str, float]], segments: dict[str, dict[str, float]], actual_total: float
) -> str:
    """A few sentences whose every comparison is computed from this run, so the prose cannot contradict the tables."""
    hs, lt, nv = spend["healthscore"], spend["lifetimes"], spend["naive"]
    one, rep = segments["one-time"], segments["repeat"]
    one_share = one["customers"] / (one["customers"] + rep["customers"])

    def bias(total: float) -> str:
        ratio = total / actual_total
        return f"{'over' if ratio > 1 else 'under'}-predicts total holdout spend by {abs(ratio - 1):.0%}"

    def compared(a: float, b: float) -> str:
        return "nearly as well as" if abs(a - b) < 0.05 else ("worse than" if a < b else "better than")

    lt_wins = [k for k in ("spearman", "auc", "top10") if lt[k] > hs[k]] + (["mae"] if lt["mae"] < hs["mae"] else [])
    verdict = "on every ranking and error metric" if len(lt_wins) == 4 else f"on {', '.join(lt_wins) or 'no metric'}"
    return (
        f"BG/NBD + Gamma-Gamma beats the simple CLV {verdict} (Spearman {lt['spearman']:.3f} vs {hs['spearman']:.3f}, "
        f"ROC-AUC {lt['auc']:.3f} vs {hs['auc']:.3f}, MAE ${lt['mae']:.2f} vs ${hs['mae']:.2f}); the simple CLV "
        f"{bias(hs['total'])} where lifetimes {bias(lt['total'])}, and overall it ranks "
        f"{compared(hs['spearman'], nv['spearman'])} the naive same-rate baseline (Spearman {nv['spearman']:.3f}). "
        f"Per one-time buyer ({one_share:.0%} of customers) it expects {one['healthscore_purchases']:.2f} holdout "
        f"purchases against {one['actual_purchases']:.2f} actual ({one['lifetimes_purchases']:.2f} from BG/NBD); per "
        f"repeat buyer {rep['healthscore_purchases']:.2f} against {rep['actual_purchases']:.2f} "
        f"({rep['lifetimes_purchases']:.2f}). Its top decile holds {hs['top10']:.1%} of holdout spend against "
        f"{lt['top10']:.1%}: usable for spotting valuable customers, not as a revenue forecast."
    )


def environment() -> list[str]:
    """Machine and versions, because the timings and numerics depend on them."""
    versions = {name: importlib.metadata.version(name) for name in ("lifetimes", "pandas", "numpy", "scipy")}
    return [
        f"- Machine: `{platform.platform()}`, {platform.machine()}, {os.cpu_count()} CPUs",
        f"- Python {platform.python_version()} ({sys.executable})",
        "- Packages: " + ", ".join(f"{name} {version}" for name, version in versions.items()),
    ]


def write_report(body: list[str]) -> None:
    """Write the Markdown report next to the other docs."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(body) + "\n", encoding="utf-8")


def main() -> None:
    """Load, split, run the three models, print and save the comparison."""
    log = load_cdnow()
    calibration, holdout = split(log)
    customers = pd.Index(sorted(log["customer_id"].unique()), name="customer_id")
    actual_spend = per_customer(holdout, "value", customers)
    actual_purchases = holdout.groupby("customer_id").size().reindex(customers, fill_value=0).astype(float)

    predictions = [
        timed(lambda: lifetimes_model(log, customers), "lifetimes"),
        timed(lambda: healthscore_model(calibration, customers), "healthscore"),
        timed(lambda: naive_model(calibration, customers), "naive"),
    ]
    labels = {
        "lifetimes": "lifetimes BG/NBD + Gamma-Gamma",
        "healthscore": "healthscore clv_12m × 273/365",
        "naive": "naive: calibration spend × 273/273",
    }
    spend = {p.name: spend_metrics(p, actual_spend) for p in predictions}
    purchases = {p.name: purchase_metrics(p, actual_purchases) for p in predictions}
    spend_md = spend_table([(labels[n], m) for n, m in spend.items()], actual_spend.sum())
    purchase_md = purchase_table([(labels[n], m) for n, m in purchases.items()], actual_purchases.sum())
    buyers = int((actual_spend > 0).sum())
    segments = by_segment(predictions, calibration, actual_spend, actual_purchases)
    segment_md = segment_table(segments, [p.name for p in predictions])

    print(
        f"CDNOW: {len(customers):,} customers, {len(log):,} customer-days; calibration {len(calibration):,} "
        f"purchases, holdout {len(holdout):,} purchases by {buyers:,} customers\n"
    )
    print("Predicted vs actual holdout spend (1997-10-01..1998-06-30, 273 days)\n")
    print(spend_md)
    print("\nExpected vs actual holdout purchases\n")
    print(purchase_md)
    print("\nBy calibration purchase count (one-time: 1 purchase, repeat: 2 or more)\n")
    print(segment_md)

    write_report(
        [
            "# Simple CLV vs lifetimes BG/NBD + Gamma-Gamma on CDNOW",
            "",
            "Generated by `benchmarks/clv_vs_lifetimes.py`; a benchmark, not a test (it asserts nothing). Run from the "
            "repository root after `pip install -e '.[bench]'`:",
            "",
            f"    {COMMAND}",
            "",
            "## Setup",
            "",
            *environment(),
            "- Data: the CDNOW master purchase log (every customer whose first CDNOW purchase was in 1997-Q1, with "
            "their purchases through 1998-06), read as `lifetimes/datasets/CDNOW_master.txt` from the lifetimes 0.11 "
            "wheel, not via `lifetimes.datasets` (which fails to import with setuptools >= 82). Purchases by one "
            f"customer on one day are merged into one: {len(customers):,} customers, {len(log):,} customer-day "
            "purchases.",
            f"- Split: calibration 1997-01-01..1997-09-30 ({CALIBRATION_DAYS} days, {len(calibration):,} purchases); "
            f"holdout 1997-10-01..1998-06-30 ({HOLDOUT_DAYS} days, {len(holdout):,} purchases by {buyers:,} customers). "
            "Every customer is scored; customers who bought nothing in the holdout count with actual spend 0.",
            "- healthscore: each customer's calibration purchases folded in date order with `scoring.state.apply_event` "
            "(midnight UTC timestamps), then `clv_12m(state, ScoringModel(), now=1997-10-01T00:00Z) × 273/365`. "
            "Expected purchases are `clv_12m` evaluated with a unit order value (it is linear in the order value).",
            "- lifetimes: `calibration_and_holdout_data(freq='D')`, `BetaGeoFitter(penalizer_coef=0.0)` → "
            "`conditional_expected_number_of_purchases_up_to_time(273)`; `GammaGammaFitter` fitted on repeat buyers → "
            "`conditional_expected_average_profit` (the population mean for one-time buyers); spend = purchases × "
            "order value.",
            "- Timings are wall time of each model's fit+predict from the shared customer-day table (lifetimes includes "
            "building its RFM summary; healthscore includes building events and folding them). Loading the file is "
            "not timed.",
            "",
            "## Holdout spend",
            "",
            spend_md,
            "",
            "Spearman ρ and MAE are per customer against actual holdout spend; ROC-AUC scores predicted spend against "
            "'bought anything in the holdout'; top-decile capture is the share of actual holdout spend held by the 10% "
            "of customers the model ranks highest (ties at the cut-off shared pro rata).",
            "",
            "## Holdout purchases",
            "",
            purchase_md,
            "",
            "The naive row predicts the calibration purchase count (same rate, equal-length periods).",
            "",
            "## One-time vs repeat buyers",
            "",
            segment_md,
            "",
            "## Interpretation",
            "",
            interpretation(spend, segments, float(actual_spend.sum())),
        ]
    )
    print(f"\nwrote {REPORT.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
