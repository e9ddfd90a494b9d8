"""The docs' tables of dimensions, signals and alert triggers, generated from the code they describe.

Why: a signal or a trigger lives in one place in the code (scoring/signals.py
SIGNALS, scoring/alerts.py TRIGGERS, the defaults in schemas/model_config.py);
a hand-kept copy in the docs drifts. Each table sits in its page between two
markers and is rewritten from the code:

    .venv/bin/python scripts/doc_tables.py           # rewrite the tables in place
    .venv/bin/python scripts/doc_tables.py --check   # write nothing; exit 1 if a page is out of date

tests/docs/test_generated_tables.py runs the check.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas.model_config import Linear, Log, Logistic, Normaliser, ScoringModel  # noqa: E402
from scoring.alerts import DETRACTOR_MAX, TRIGGERS  # noqa: E402
from scoring.signals import DIMENSIONS, SIGNALS  # noqa: E402

SCORING_GUIDE = ROOT / "docs" / "guides" / "scoring-model.md"
BEGIN = "<!-- BEGIN generated table: {name} (scripts/doc_tables.py; edit the code, not this table) -->"
END = "<!-- END generated table: {name} -->"

# What each trigger watches, in words; `{...}` are the default model's parameters. The code decides
# when a trigger fires; these lines say it for people, and the check below keeps one line per trigger.
TRIGGER_WORDS: dict[str, tuple[str, str]] = {
    "tier_entry": (
        (
            "the risk level rises: none -> at_risk (score below {watch}) -> critical (below {at_risk}); "
            "leaving a level takes `hysteresis` ({hysteresis}) points more"
        ),
        "once per `cooldown` ({cooldown}), unless more severe",
    ),
    "score_drop": (
        (
            "the score fell {points} points or more within {drop_days} days (once the customer's score history "
            "reaches back {drop_days} days)"
        ),
        "once per `cooldown`, unless more severe",
    ),
    "purchase_overdue": (
        (
            "{cycles} purchase cycles without a purchase, and at least `min_days` ({overdue_days}) days "
            "(customers with {min_purchases} or more purchases); the timer also looks then if the score has settled"
        ),
        "once per last purchase",
    ),
    "detractor_nps": ("a new NPS answer of {detractor_max} or less", "once per answer"),
    "stale_ticket": ("a high or urgent ticket unresolved for {stale_days} days", "once per ticket"),
    "renewal_risk": (
        (
            "the profile's `renewal_date` is within {renewal_days} days while the tier is at_risk or critical; "
            "the timer also looks when that window opens"
        ),
        "once per renewal date",
    ),
}


def number(value: float) -> str:
    return f"{value:,g}"


def days(span: timedelta) -> str:
    return f"{number(span.total_seconds() / 86400)} days"


def normaliser_words(normaliser: Normaliser) -> str:
    if isinstance(normaliser, Linear):
        return f"linear: 0 at {number(normaliser.low)}, 1 at {number(normaliser.high)}"
    if isinstance(normaliser, Log):
        return f"log: 0 at 0, 1 at {number(normaliser.saturation)}"
    assert isinstance(normaliser, Logistic)
    return f"logistic: 0.5 at {number(normaliser.midpoint)}, steepness {number(normaliser.steepness)}"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def dimensions_table(model: ScoringModel) -> str:
    rows = [
        (f"`{d}`", number(getattr(model.weights, d)), ", ".join(f"`{s.name}`" for s in SIGNALS if s.dimension == d))
        for d in DIMENSIONS
    ]
    return table(("dimension", "default weight", "signals"), rows)


def signals_table(model: ScoringModel) -> str:
    rows = []
    for spec in SIGNALS:
        config = getattr(model.signals, spec.name)
        rows.append(
            (
                f"`{spec.name}`",
                spec.dimension,
                spec.measures,
                number(config.weight),
                normaliser_words(config.normaliser),
            )
        )
    return table(("signal", "dimension", "raw value", "weight in its dimension", "default normaliser"), rows)


def source_of(function: Callable[..., object]) -> str:
    """A scoring function's source, as its module's .py file has it."""
    module = Path(inspect.getsourcefile(function) or "").read_text()
    found = [
        node
        for node in ast.walk(ast.parse(module))
        if isinstance(node, ast.FunctionDef) and node.name == function.__name__
    ]
    assert len(found) == 1, f"{function.__name__}: {len(found)} definitions in {function.__module__}"
    return ast.get_source_segment(module, found[0]) or ""


def fired_by(trigger: Callable[..., object]) -> tuple[str, str]:
    """The trigger name a trigger function raises, and its severity, read from its `Fired(...)`."""
    source = source_of(trigger)
    fired = re.findall(r'Fired\(\s*"(\w+)"', source)
    assert len(set(fired)) == 1, f"{trigger.__name__} raises {fired}; the docs expect one trigger per function"
    return fired[0], "high" if re.search(r'Fired\([^\n]*"high"\)', source) else "normal"


def triggers_table(model: ScoringModel) -> str:
    policy, rules, tiers = model.alerts, model.alerts.triggers, model.tiers
    values = {
        "watch": number(tiers.watch),
        "at_risk": number(tiers.at_risk),
        "hysteresis": number(policy.hysteresis),
        "cooldown": days(policy.cooldown),
        "points": number(rules.score_drop.points),
        "drop_days": number(rules.score_drop.days),
        "cycles": number(rules.purchase_overdue.cycles),
        "min_purchases": number(rules.purchase_overdue.min_purchases),
        "overdue_days": number(rules.purchase_overdue.min_days),
        "detractor_max": number(DETRACTOR_MAX),
        "stale_days": number(rules.stale_ticket.days),
        "renewal_days": number(rules.renewal_risk.days),
    }
    rows = []
    for trigger in TRIGGERS:
        name, severity = fired_by(trigger)
        when, at_most = TRIGGER_WORDS[name]
        rows.append((f"`{name}`", when.format(**values), at_most.format(**values), severity))
    assert {row[0].strip("`") for row in rows} == set(TRIGGER_WORDS), (
        "a trigger without words, or words without a trigger"
    )
    return table(("trigger", "fires when", "at most", "severity"), rows)


def tables() -> dict[str, str]:
    """Each generated table by its marker name, for the default model."""
    model = ScoringModel()
    return {"dimensions": dimensions_table(model), "signals": signals_table(model), "triggers": triggers_table(model)}


def rewrite(text: str, generated: dict[str, str]) -> str:
    """`text` with the body between each table's markers replaced by the generated table."""
    for name, body in generated.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{SCORING_GUIDE.relative_to(ROOT)}: no markers for the {name} table")
        replacement = f"{begin}\n{body}\n{end}"
        text = pattern.sub(lambda _, new=replacement: new, text)  # a function: the table is not a regex template
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is out of date")
    args = parser.parse_args()
    current = SCORING_GUIDE.read_text()
    wanted = rewrite(current, tables())
    if args.check:
        if wanted != current:
            raise SystemExit(f"{SCORING_GUIDE.relative_to(ROOT)} is out of date: run python scripts/doc_tables.py")
        return
    if wanted != current:
        SCORING_GUIDE.write_text(wanted)
        print(f"wrote {SCORING_GUIDE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
