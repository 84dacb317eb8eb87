"""Split-conformal calibration of the price model's 80% interval, per reference level (pure functions, log scale).

A row's nonconformity score is ``max(log p10 - log y, log y - log p90)``: how far (log) its price falls outside the
raw quantile boosters' interval (negative inside). Widening [p10, p90] by the conformal 80% quantile of the scores of
rows the boosters did not see gives 80% coverage on rows like them. Two choices make "like them" closer to what the
model meets after training:

- the scores come from several calibration origins (``model.calibration_scores``): the latest 10% and the latest 20%
  of the training rows, each scored by boosters fitted on the rows before it, and pooled; one slice is a few weeks
  of purchases (on the CATMAT series the latest 10% is the last days of December 2022), two horizons say more about
  how the boosters age;
- the margin is learnt per reference level (``features.reference``: 1 = the row has IN 65 comparables, 2 = only
  older prices of its code and unit, 0 = none), Mondrian-style: rows without history miss more often than rows with
  it. A level with fewer than ``min_rows`` scores takes the pooled margin of all levels.
"""

from __future__ import annotations

import numpy as np

COVERAGE = 0.8


def scores(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row, log distance outside [low, high] (all in log price; negative inside)."""
    return np.maximum(low - actual, actual - high)


def conformal_quantile(values: np.ndarray, coverage: float = COVERAGE) -> float:
    """The split-conformal margin: the ⌈(n + 1)·coverage⌉-th smallest score (the largest when n is small); 0 without
    scores."""
    if len(values) == 0:
        return 0.0
    rank = min(len(values), int(np.ceil((len(values) + 1) * coverage)))
    return float(np.partition(values, rank - 1)[rank - 1])


def level_margins(
    values: np.ndarray, levels: np.ndarray, *, min_rows: int, coverage: float = COVERAGE
) -> tuple[float, dict[str, float]]:
    """(the pooled margin, {level: margin} for each level with ``min_rows`` or more scores); levels as text keys so
    they survive JSON."""
    pooled = conformal_quantile(values, coverage)
    margins = {}
    for level in np.unique(levels):
        chosen = values[levels == level]
        if len(chosen) >= min_rows:
            margins[str(int(level))] = conformal_quantile(chosen, coverage)
    return pooled, margins


def row_margins(levels: np.ndarray, pooled: float, margins: dict[str, float]) -> np.ndarray:
    """Each row's margin: its level's, else the pooled one."""
    return np.array([margins.get(str(int(level)), pooled) for level in levels], dtype=np.float64)


def widen(logs: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Columns (log p10, log p50, log p90) → prices with p10 ≤ p50 ≤ p90: the three quantiles are sorted first (so
    p50 is the same whatever the margin), then p10 goes down and p90 up by each row's margin (a negative margin,
    possible when the boosters' interval is too wide, narrows it but never past p50)."""
    ordered = np.sort(logs, axis=1)
    middle = ordered[:, 1]
    low = np.minimum(ordered[:, 0] - margin, middle)
    high = np.maximum(ordered[:, 2] + margin, middle)
    return np.exp(np.column_stack([low, middle, high]))
