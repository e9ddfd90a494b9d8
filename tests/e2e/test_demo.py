"""The demo as a user runs it: one command, scores and alerts printed, nothing left running."""

import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def test_the_demo_prints_scores_alerts_with_reasons_and_dead_letters(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams.tools.cli", "demo", "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"300 customers scored from Redis: healthy \d+, watch \d+, at_risk \d+, critical \d+", out)
    alerts = int(re.search(r"Churn-risk alerts raised: (\d+)", out).group(1))
    assert alerts > 0
    assert "(detractor)" in out and "no purchase for" in out
    assert "Dead letters: 4" in out and "nps score must be between 0 and 10, got 12" in out
    assert "5 duplicates counted once" in out
    assert re.search(r"\(\d+ from the inactivity timer\)", out)
    for trigger in ("tier_entry", "detractor_nps", "purchase_overdue", "stale_ticket"):
        assert re.search(rf"{trigger} \d+", out), trigger
    assert out.rstrip().endswith("local stack stopped")
    # Progress went to stderr (not a terminal here: plain lines), none of it into the output above.
    assert re.search(r"^publishing: ([\d,]+)/\1 \(100%\), [\d,]+/s, [\d.]+ s done$", result.stderr, re.MULTILINE)
    assert "publishing:" not in out
    # Broker, Redis and the worker's web server were all stopped: nothing listens on their ports.
    ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", out)]
    assert len(ports) == 3
    for port in ports:
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
