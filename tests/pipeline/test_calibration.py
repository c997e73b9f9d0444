import numpy as np
import pytest

from pipeline.calibration import calibration_units, cutoff_for_top_fraction
from pipeline.units import WorkUnit


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_cutoff_keeps_exactly_the_share_on_a_known_distribution(fraction):
    scores = np.random.default_rng(0).normal(0.3, 0.05, size=10_000)
    cutoff = cutoff_for_top_fraction(scores, fraction)
    assert (scores >= cutoff).sum() == int(np.ceil(fraction * len(scores)))


def test_ties_at_the_cut_are_kept_and_empty_input_keeps_everything():
    scores = np.array([0.1, 0.2, 0.2, 0.2, 0.5])
    assert (scores >= cutoff_for_top_fraction(scores, 0.4)).sum() == 4
    assert cutoff_for_top_fraction(np.array([]), 0.5) == -1.0


def test_calibration_units_are_spread_over_the_run():
    units = [WorkUnit(i, ()) for i in range(10)]
    assert [u.index for u in calibration_units(units, 3)] == [0, 3, 6]
    assert calibration_units(units, None) == units
    assert calibration_units(units, 50) == units
