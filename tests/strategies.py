"""Hypothesis strategies for customer histories: any mix of events one customer could send, in any order.

Every event falls inside one window (WINDOW_DAYS), so reordering them cannot
push any out of a rolling window: what a property sees is order, not age.
"""

from hypothesis import strategies as st

from schemas.events import PurchaseEvent, SurveyEvent, TicketEvent, VisitEvent
from tests.factories import at

WINDOW_DAYS = 80  # inside the 90-day horizon, so order cannot push anything out of a window

days = st.floats(min_value=0, max_value=WINDOW_DAYS, allow_nan=False)
ids = st.uuids().map(str)

cents = st.integers(min_value=0, max_value=500_000).map(lambda c: c / 100)  # money comes in cents
purchases = st.builds(
    lambda i, d, a: PurchaseEvent(event_id=i, customer_id="c", occurred_at=at(d), amount=a), ids, days, cents
)
visits = st.builds(
    lambda i, d, s: VisitEvent(event_id=i, customer_id="c", occurred_at=at(d), duration_seconds=s / 10),
    ids,
    days,
    st.integers(0, 72_000),
)


@st.composite
def ticket_lifecycles(draw) -> list[TicketEvent]:
    """A ticket opened once and maybe resolved once, later: its two events may still arrive in either order."""
    ticket_id, opened = draw(ids), draw(days)
    fields = {
        "customer_id": "c",
        "ticket_id": ticket_id,
        "priority": draw(st.sampled_from(["low", "high", "urgent"])),
        "category": draw(st.sampled_from(["question", "bug", "complaint"])),
    }
    out = [TicketEvent(event_id=draw(ids), occurred_at=at(opened), action="opened", **fields)]
    if draw(st.booleans()):
        resolved = draw(st.floats(min_value=opened, max_value=WINDOW_DAYS))
        out.append(TicketEvent(event_id=draw(ids), occurred_at=at(resolved), action="resolved", **fields))
    return out


ticket_events = ticket_lifecycles()
csat = st.builds(
    lambda i, d, s: SurveyEvent(event_id=i, customer_id="c", occurred_at=at(d), survey_type="csat", score=s),
    ids,
    days,
    st.integers(1, 5),
)
nps = st.builds(
    lambda i, d, s: SurveyEvent(event_id=i, customer_id="c", occurred_at=at(d), survey_type="nps", score=s),
    ids,
    days,
    st.integers(0, 10),
)
single = st.one_of(purchases, visits, csat, nps).map(lambda e: [e])
events = st.lists(st.one_of(single, ticket_events), min_size=1, max_size=20).map(lambda groups: sum(groups, []))
