"""The console in a real browser (headless Chromium from Debian) against a worker fed with the sample events.

The pages load with nothing in the browser's console, the login form lets in
only the token's holder and sets an HttpOnly cookie, the at-risk list is
what `GET /customers` answers for the same filters, and the customer page
draws one point per point of `GET /customers/{id}/history`.
"""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import quote, urlencode

import pytest
from selenium.webdriver.common.by import By

from streams.tools.publish import publish, read_lines
from tests.browser import chrome, console_errors, follow
from tests.integration.worker_metrics import metric_total
from tests.paths import ROOT
from tests.waiting import until

TOKEN = "it-console-7d41a9"
SAMPLE = ROOT / "data" / "sample_events.jsonl"
CUSTOMERS = 300  # in the sample


def api(run, path: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{run.settings.web_port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def settled(run, published: int) -> bool:
    """Every record published handled, every sample customer in Redis and no snapshot waiting for it.

    With no inactivity timer (the test deploys none) nothing changes after
    that: a page compared with the API shows the same scores and tiers. The
    records first: a pause between two batches of a slow worker also leaves
    Redis quiet for a while.
    """
    assert run.process.poll() is None, run.log.read_text()[-3000:]
    try:
        return (
            metric_total(run.settings.web_port, "healthscore_events_total") == published
            and api(run, "/tiers")["total"] == CUSTOMERS
            and api(run, "/livez")["redis_backlog"] == 0
        )
    except OSError:
        return False


@pytest.fixture
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def rows(driver) -> list[tuple[str, float]]:
    return [
        (row.find_element(By.CSS_SELECTOR, "td.id a").text, float(row.find_elements(By.TAG_NAME, "td")[1].text))
        for row in driver.find_elements(By.CSS_SELECTOR, "tr.customer-row")
    ]


def test_the_console_in_a_browser_logs_in_matches_the_api_and_draws_every_history_point(deploy, browser) -> None:
    # No inactivity timer: its re-scoring would go on after the last event, and the pages are compared with
    # the API's answers given a moment apart; what the timer publishes is tested in test_time_and_model.py.
    run = deploy(HEALTHSCORE_API_TOKEN=TOKEN, HEALTHSCORE_INACTIVITY_TIMER="false")
    base = f"http://127.0.0.1:{run.settings.web_port}"
    report = publish(read_lines(SAMPLE), run.settings)
    assert until(lambda: settled(run, report.total), timeout=240), "the worker did not score the sample events in time"

    # Without the cookie every page leads to the login form, which refuses a wrong token.
    browser.get(f"{base}/console/at-risk")
    assert browser.current_url == f"{base}/console/login?next=%2Fconsole%2Fat-risk"
    browser.find_element(By.NAME, "token").send_keys("not-the-token")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form button"))
    assert "That is not the token." in browser.page_source
    console_errors(browser)  # the refused login answers 401, which the browser logs: start the log afresh
    browser.find_element(By.NAME, "token").send_keys(TOKEN)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form button"))
    assert browser.current_url == f"{base}/console/at-risk"
    cookie = browser.get_cookie("healthscore_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    assert console_errors(browser) == []

    # The at-risk list, as opened: what the API answers for the at-risk and critical tiers.
    expected = api(run, "/customers?tier=at_risk,critical&limit=50")
    assert rows(browser) == [(r["customer_id"], r["score"]) for r in expected["items"]]
    assert f"of {expected['total']:,}" in browser.find_element(By.ID, "count").text
    follow(browser, browser.find_element(By.CSS_SELECTOR, "a[rel=next]"))
    assert rows(browser) == [
        (r["customer_id"], r["score"]) for r in api(run, "/customers?tier=at_risk,critical&limit=50&offset=50")["items"]
    ]
    # Filtered by the form: one segment, sorted by the 7-day change.
    browser.get(f"{base}/console/at-risk")
    for box in browser.find_elements(By.NAME, "tier"):
        if box.get_attribute("value") == "watch":
            box.click()
    browser.find_element(By.CSS_SELECTOR, "select[name=segment] option[value=at_risk]").click()
    browser.find_element(By.CSS_SELECTOR, "select[name=sort] option[value=change]").click()
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"))
    query = urlencode({"tier": "watch,at_risk,critical", "segment": "at_risk", "sort": "change", "limit": 50})
    filtered = api(run, f"/customers?{query}")["items"]
    assert filtered and rows(browser) == [(r["customer_id"], r["score"]) for r in filtered]
    assert console_errors(browser) == []

    # The overview: today's counts are the API's.
    browser.get(f"{base}/console")
    tiers = api(run, "/tiers")["tiers"]
    kpis = browser.find_elements(By.CSS_SELECTOR, ".kpi b")
    assert [int(k.text.replace(",", "")) for k in kpis] == list(tiers.values())
    assert browser.find_elements(By.CSS_SELECTOR, "svg.tier-days-chart g.day")
    assert console_errors(browser) == []

    # A customer's page: one circle per point the history API returns, the score the health API returns.
    customer = expected["items"][0]["customer_id"]
    browser.get(f"{base}/console/customers/{quote(customer, safe='')}?range=all")
    points = api(run, f"/customers/{quote(customer, safe='')}/history")["points"]
    assert len(points) > 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.history-chart circle.point")) == len(points)
    assert (
        float(browser.find_element(By.ID, "score").text) == api(run, f"/customers/{quote(customer, safe='')}")["score"]
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#reasons li")
    assert console_errors(browser) == []

    # Logging out ends it: the pages lead to the login form again.
    follow(browser, browser.find_element(By.CSS_SELECTOR, "header form button"))
    browser.get(f"{base}/console")
    assert browser.current_url.startswith(f"{base}/console/login")
    assert console_errors(browser) == []
