"""What every kind of stimulus shares (gaia_stim/stimuli/_common.py): equal-distance steps.

``equal_steps`` is given paths whose pixel distances are known in closed form (flat greys of
t ** power), so where the equal steps lie is computed here, not taken from the code.
"""

import numpy as np

from conftest import cv, rms


def grey_power(power):
    """render(levels) of a path of flat images of grey t ** power: the pixel distance from t = 0 is t ** power."""

    def render(levels):
        levels = np.asarray(levels, dtype=np.float64)
        return levels[:, None], np.ones((len(levels), 4, 4, 1)) * (levels**power)[:, None, None, None]

    return render


def test_the_first_pass_of_equal_spacing_inverts_the_arc_length():
    # Grey t ** 2: equal steps lie at t = sqrt(i / 10). The first pass alone (no refinement round) finds
    # them, to the precision of its piecewise-linear inverse over 21 samples.
    from gaia_stim.stimuli._common import equal_steps

    levels = equal_steps(np.linspace(0, 1, 11), grey_power(2), "pixel", rounds=0)[0]
    np.testing.assert_allclose(levels, np.sqrt(np.arange(11) / 10), atol=0.01)


def test_equal_spacing_refines_a_coarse_first_pass_until_the_steps_are_equal():
    # Grey t ** 10: the first pass's 21 samples miss the bend (its steps vary by about 10 %); the rounds
    # that follow must leave steps, measured here from the images returned, within the 0.5 % tolerance,
    # at t = (i / 10) ** (1 / 10).
    from gaia_stim.stimuli._common import equal_steps

    levels, _, images, _ = equal_steps(np.linspace(0, 1, 11), grey_power(10), "pixel")
    assert cv(rms(images[:-1], images[1:])) <= 0.005
    np.testing.assert_allclose(levels, (np.arange(11) / 10) ** 0.1, atol=0.002)
