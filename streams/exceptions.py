"""Errors the I/O shell raises on purpose."""


class HealthscoreError(Exception):
    """Base of every deliberate healthscore error."""


class BrokerUnavailable(HealthscoreError):
    """No Kafka broker answers at HEALTHSCORE_BROKER_URL within HEALTHSCORE_CONNECT_TIMEOUT_SECONDS."""


class RedisUnavailable(HealthscoreError):
    """Redis does not answer at HEALTHSCORE_REDIS_URL within HEALTHSCORE_CONNECT_TIMEOUT_SECONDS."""


class ApiUnreachable(HealthscoreError):
    """No worker's HTTP API answers at the URL a command was given."""


class LocalStackError(HealthscoreError):
    """The local broker or Redis could not be started, or one of them stopped by itself."""


class ModelFileError(HealthscoreError):
    """A scoring-model file that cannot be used; the message names the file and the field."""


class TailError(HealthscoreError):
    """An output topic cannot be followed: it does not exist (yet)."""


class LiveStatesError(HealthscoreError):
    """The workers' states cannot be read through the HTTP API: a refused token, or an error answer."""


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
