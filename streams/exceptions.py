"""Errors the I/O shell raises on purpose."""


class HealthscoreError(Exception):
    """Base of every deliberate healthscore error."""


class LocalStackError(HealthscoreError):
    """The local broker or Redis could not be started."""


class ModelFileError(HealthscoreError):
    """A scoring-model file that cannot be used; the message names the file and the field."""
