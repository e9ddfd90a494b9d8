"""The bearer-token check of the HTTP API's customer-data endpoints."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

SCHEME = "Bearer"


def bearer_allows(authorization: str | None, token: SecretStr | None) -> bool:
    """Whether an `Authorization` header value grants access; no configured token means the API is open.

    The comparison takes the same time wherever the strings differ, so
    response times do not reveal how much of a guess was right.
    """
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != SCHEME.lower():
        return False
    return hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())
