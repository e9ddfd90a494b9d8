"""Errors the I/O shell raises on purpose."""


class HealthscoreError(Exception):
    """Base of every deliberate healthscore error."""


class LocalStackError(HealthscoreError):
    """The local broker or Redis could not be started."""


class ModelFileError(HealthscoreError):
    """A scoring-model file that cannot be used; the message names the file and the field."""


class TailError(HealthscoreError):
    """An output topic cannot be followed: no broker answers, or the topic does not exist."""


class LiveStatesError(HealthscoreError):
    """The workers' states cannot be read through the HTTP API: no answer, a refused token, or an error answer."""


class StopSignal(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGINT asked a command to stop: raised like Ctrl-C's KeyboardInterrupt, so clean-ups run.

    A KeyboardInterrupt, not a HealthscoreError: `except Exception` must not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Fenced(HealthscoreError):
    """This worker may no longer own its partitions (streams/fencing.py): it must write nothing until it rejoins."""


class OffsetWentBack(HealthscoreError):
    """A batch would complete an offset below one already completed: refused, as nothing could then be trusted."""
