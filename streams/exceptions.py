"""Errors the I/O shell raises on purpose."""


class HealthscoreError(Exception):
    """Base of every deliberate healthscore error."""


class LocalStackError(HealthscoreError):
    """The local broker or Redis could not be started."""
