"""Small, exactly defined statistics shared by the evaluation report and live metrics.

Every ratio returns ``None`` when its denominator is zero ("not defined": nothing to measure),
never 0.0 or 1.0, so an empty class or an unmeasured detection cannot look good or bad.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when the denominator is zero."""
    return numerator / denominator if denominator else None


def f1(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean of precision and recall.

    None when both are undefined (nothing expected, nothing predicted); 0.0 when only one is
    defined (all predictions wrong, or every expected item missed) or both are zero.
    """
    if precision is None and recall is None:
        return None
    if precision is None or recall is None or precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def set_scores(tp: int, predicted: int, expected: int) -> dict[str, float | None]:
    """Precision, recall and F1 from counts of true positives, predictions and expectations."""
    precision = ratio(tp, predicted)
    recall = ratio(tp, expected)
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall)}


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None if there are none."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1): the smallest value with at least that
    share of values at or below it. None for no values. Nearest rank never interpolates, so
    the result is always a value that was measured."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle values for an even count); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
