"""The token checks of the HTTP API (a bearer header) and of the console (a cookie set by its login form)."""

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


# The console's cookie holds a value derived from the token, never the token itself: a cookie that
# leaks (a browser profile, a proxy log) does not open the JSON API.
SESSION_LABEL = b"healthscore console session"


def session_value(token: SecretStr) -> str:
    """The console cookie's value for `token`."""
    return hmac.new(token.get_secret_value().encode(), SESSION_LABEL, "sha256").hexdigest()


def session_allows(cookie: str | None, token: SecretStr | None) -> bool:
    """Whether the console's cookie grants access; no configured token means the console is open."""
    if token is None:
        return True
    return hmac.compare_digest((cookie or "").encode(), session_value(token).encode())


def token_matches(given: str, token: SecretStr) -> bool:
    """Whether a token typed into the console's login form is the API's, compared in constant time."""
    return hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())
