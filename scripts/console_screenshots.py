"""Screenshots of the console's three pages for the docs, from a worker fed with the sample events.

Starts a local stack and a worker (event-time clock), replays
data/sample_events.jsonl, pins one at-risk customer's tier by hand (so the
customer page shows an override), and saves full-page PNGs of the overview,
the at-risk list and that customer's page with headless Chromium.

    .venv/bin/python scripts/console_screenshots.py [--out docs/guides/images]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.api import CustomerHealth  # noqa: E402
from schemas.control import OverrideRequest  # noqa: E402
from streams.tools.demo import start_local_worker  # noqa: E402
from streams.tools.localstack import local_stack  # noqa: E402
from streams.tools.publish import publish, read_lines, send_request  # noqa: E402
from tests.browser import chrome, console_errors, full_page_png  # noqa: E402

SAMPLE = ROOT / "data" / "sample_events.jsonl"
CUSTOMERS = 300  # in the sample


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_until_quiet(base: str, customers: int, timeout: float = 300.0) -> None:
    """Every customer in Redis and nothing waiting to be written for two seconds in a row."""
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            scored = get_json(f"{base}/tiers")["total"]
            backlog = get_json(f"{base}/livez")["redis_backlog"]
        except OSError:
            scored, backlog = 0, 1
        if scored >= customers and backlog == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2.0:
                return
        else:
            quiet_since = None
        time.sleep(0.5)
    raise SystemExit("the worker did not score the sample in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "guides" / "images")
    out = parser.parse_args().out
    with tempfile.TemporaryDirectory(prefix="console-shots-") as work, local_stack(Path(work)) as stack:
        settings, _process = start_local_worker(stack, "console-shots", clock="event")
        base = f"http://127.0.0.1:{settings.web_port}"
        publish(read_lines(SAMPLE), settings, rate=300)  # as the demo: the four topics in step
        wait_until_quiet(base, CUSTOMERS)
        # The at-risk customer with the most alerts gets a manual override, as a CSM would set one.
        page = get_json(f"{base}/customers?tier=at_risk&limit=100")["items"]
        chosen = max(page, key=lambda row: len(get_json(f"{base}/customers/{row['customer_id']}/history")["points"]))
        health = CustomerHealth.model_validate(get_json(f"{base}/customers/{chosen['customer_id']}"))
        at = health.scored_at
        send_request(
            settings.topic_overrides,
            OverrideRequest(
                request_id=str(uuid.uuid4()),
                customer_id=chosen["customer_id"],
                action="pin_tier",
                tier="watch",
                reason="renewal call booked; champion engaged",
                author="dana@cs",
                requested_at=at,
                expires_at=at + timedelta(days=30),
            ),
            settings,
        )
        time.sleep(3)
        wait_until_quiet(base, CUSTOMERS)
        driver = chrome()
        try:
            for name, path in (
                ("overview", "/console"),
                ("at-risk", "/console/at-risk?tier=at_risk,critical&limit=25"),
                ("customer", f"/console/customers/{chosen['customer_id']}?range=all"),
            ):
                driver.set_window_size(1280, 900)
                driver.get(base + path)
                errors = console_errors(driver)
                if errors:
                    raise SystemExit(f"{path}: browser console errors: {errors}")
                full_page_png(driver, out / f"console-{name}.png")
                print(f"wrote {out / f'console-{name}.png'}")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
