"""Signal dispositions as a terminal gives them, for tests that send SIGINT or SIGHUP.

A process started by `nohup` ignores SIGHUP, and one started in the
background by a non-interactive shell (a CI runner's script, `cmd &`)
ignores SIGINT; the ignoring is inherited through fork and exec, and
healthscore rightly keeps an ignored signal ignored. A test that means
"the user pressed Ctrl-C" must therefore not inherit how the test run itself
was started: it sets the defaults first.
"""

from __future__ import annotations

import signal


def as_in_a_terminal() -> None:
    """This process's stop signals at their defaults: Ctrl-C raises KeyboardInterrupt, the others end it.

    Also the `preexec_fn` of a command a test signals: set between fork and
    exec, so the new Python starts as it would from a terminal.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
