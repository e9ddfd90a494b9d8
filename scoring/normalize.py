"""Normalisers: map a raw signal onto 0..1, where 1 is healthy."""

from __future__ import annotations

import math


def linear(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high`, clamped; `low > high` makes a falling signal."""
    if high == low:
        return 1.0 if value >= high else 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def log_saturating(value: float, saturation: float) -> float:
    """0 at zero, 1 at `saturation`, concave between: the first few units matter most."""
    if value <= 0:
        return 0.0
    return min(1.0, math.log1p(value) / math.log1p(saturation))
