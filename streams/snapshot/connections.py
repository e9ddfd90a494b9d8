"""Whether Redis answers, asked once before a command relies on it, with the answer a person can act on.

HEALTHSCORE_REDIS_URL may hold a password, so errors name only its host and
port (or socket path), never the URL itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from streams.exceptions import RedisUnavailable
from streams.settings import Settings

DEFAULT_PORT = 6379


def redis_address(url: str) -> str:
    """`host:port` (or the socket path) of a Redis URL: where it is, without its password or options."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or DEFAULT_PORT}"


def check_redis(settings: Settings) -> None:
    """Redis at HEALTHSCORE_REDIS_URL answers within HEALTHSCORE_CONNECT_TIMEOUT_SECONDS; RedisUnavailable if not.

    An answer that refuses (a wrong password) counts as an answer: the worker
    handles that as it handles Redis failing later, logged and retried.
    """
    timeout = settings.connect_timeout_seconds
    where = f"{redis_address(settings.redis_url)} (HEALTHSCORE_REDIS_URL)"
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except (AuthenticationError, ResponseError):  # Redis answered
        return
    except (RedisError, OSError) as exc:
        raise RedisUnavailable(f"Redis does not answer at {where} within {timeout:g} s: {reason(exc)}") from exc
    finally:
        client.close()


def reason(exc: Exception) -> str:
    """What the socket said (`Connection refused`), which redis-py wraps in a sentence repeating the address."""
    cause = exc.__cause__ or exc.__context__
    return cause.strerror if isinstance(cause, OSError) and cause.strerror else str(exc)
