"""The running workers' customer states, read through the HTTP API partition by partition, page by page.

For `healthscore preview --live`: read-only (GET requests, nothing stored or
published), and one worker's URL is enough, since a worker passes a request
for a partition it does not own to the one that does. A page a rebalance
cannot answer (`503`) is asked for again until RETRY_SECONDS pass; paging by
customer id lets the next owner go on where the last one stopped, so each
customer is read once.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import SecretStr, ValidationError

from schemas.api import MAX_STATES_PAGE, StatesPage
from scoring.state import CustomerState
from scoring.state_codec import decode_state
from streams.exceptions import ApiUnreachable, LiveStatesError
from streams.settings import WILDCARD_HOSTS, Settings

# How long a partition may stay unanswerable (moving between workers, a worker restoring its table).
RETRY_SECONDS = 60.0
RETRY_PAUSE_SECONDS = 0.5
REQUEST_TIMEOUT_SECONDS = 60.0


def default_url(settings: Settings) -> str:
    """A worker's API as the HEALTHSCORE_WEB_* settings place it; a wildcard bind address is reached on loopback."""
    if settings.web_canonical_url:
        return settings.web_canonical_url
    host = "127.0.0.1" if settings.web_host in WILDCARD_HOSTS else settings.web_host
    return f"http://{host}:{settings.web_port}"


@dataclass
class LiveStates:
    """Every customer state the workers hold, and what they said about themselves."""

    states: dict[str, CustomerState] = field(default_factory=dict)
    clocks: list[datetime] = field(default_factory=list)  # each answering worker's now
    models: set[str] = field(default_factory=set)  # what the workers said they score with
    workers: set[str] = field(default_factory=set)  # the URLs that answered
    partitions: int = 0


def page(url: str, partition: int, after: str | None, limit: int, token: SecretStr | None) -> StatesPage:
    """One page, asked again while the partition is moving; an error a person can act on otherwise."""
    query = urllib.parse.urlencode({"limit": limit} | ({"after": after} if after is not None else {}))
    request = urllib.request.Request(f"{url.rstrip('/')}/partitions/{partition}/states?{query}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token.get_secret_value()}")
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:
                return StatesPage.model_validate_json(answer.read())
        except urllib.error.HTTPError as failed:
            message = _error_of(failed)
            if failed.code == 401:
                raise LiveStatesError(
                    f"{url} refused the token: give --token or HEALTHSCORE_API_TOKEN ({message})"
                ) from None
            if failed.code == 404 and "no partition" not in message:
                raise LiveStatesError(
                    f"{url} has no /partitions route: is it a healthscore worker of this version?"
                ) from None
            if failed.code != 503 or time.monotonic() > deadline:
                raise LiveStatesError(f"{url}: partition {partition}: {failed.code} {message}") from None
        except urllib.error.URLError as failed:
            raise ApiUnreachable(f"no worker's API answers at {url}: {failed.reason}") from None
        except ValidationError as exc:
            raise LiveStatesError(f"{url} answered something that is not a page of states: {exc}") from None
        time.sleep(RETRY_PAUSE_SECONDS)


def _error_of(failed: urllib.error.HTTPError) -> str:
    body = failed.read()
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")


def pages(url: str, token: SecretStr | None, limit: int = MAX_STATES_PAGE) -> Iterator[StatesPage]:
    """Every page of every partition, partition 0 first; the first page says how many partitions there are."""
    partition, partitions = 0, 1
    while partition < partitions:
        after = None
        while True:
            got = page(url, partition, after, limit, token)
            partitions = got.partitions
            yield got
            if got.next_after is None:
                break
            after = got.next_after
        partition += 1


def read_live_states(
    url: str, token: SecretStr | None, read: Callable[[int], None] | None = None, page_size: int = MAX_STATES_PAGE
) -> LiveStates:
    """Every customer state of every partition, decoded with the state codec; `read(n)` after each page of n."""
    found = LiveStates()
    for got in pages(url, token, page_size):
        for text in got.states:
            state = decode_state(base64.b64decode(text))
            found.states[state.customer_id] = state
        found.partitions = got.partitions
        found.workers.add(got.worker)
        found.models.add(got.model)
        if got.clock is not None:
            found.clocks.append(got.clock)
        if read is not None:
            read(len(got.states))
    return found
