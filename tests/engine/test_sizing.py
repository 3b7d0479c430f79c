import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sizing import fit_size


@pytest.mark.parametrize(
    "aspect, native, multiple, max_pixels, size",
    [
        ((1, 1), 512, 8, 1024 * 1024, (512, 512)),
        ((1, 1), 1024, 64, 1024 * 1024, (1024, 1024)),
        ((3, 2), 1024, 8, 1024 * 1024, (1248, 832)),
        ((16, 9), 512, 8, 1024 * 1024, (680, 384)),
        ((1, 1), 1024, 8, 512 * 512, (512, 512)),
        ((4, 1), 32, 8, 64 * 64, (64, 16)),
        ((4, 1), 32, 32, 64 * 64, (64, 32)),
    ],
)
def test_known_sizes(aspect, native, multiple, max_pixels, size):
    assert fit_size(aspect, native, multiple, max_pixels) == size


def test_a_budget_smaller_than_one_tile_is_refused():
    with pytest.raises(ValueError, match="below one 64x64 tile"):
        fit_size((1, 1), 512, 64, 64 * 63)


_aspects = st.tuples(st.integers(1, 40), st.integers(1, 40)).filter(lambda a: max(a) <= 4 * min(a))
_multiples = st.sampled_from([1, 8, 16, 32, 64])


@settings(max_examples=500, deadline=None)
@given(_aspects, st.integers(16, 2048), _multiples, st.integers(64 * 64, 2048 * 2048))
def test_sides_are_multiples_within_budget_and_keep_the_aspect(aspect, native, multiple, max_pixels):
    width, height = fit_size(aspect, native, multiple, max_pixels)
    assert width % multiple == 0 and height % multiple == 0
    assert width >= multiple and height >= multiple
    assert width * height <= max_pixels
    aspect_w, aspect_h = aspect
    if min(width, height) > multiple:
        # Each side is at most one `multiple` away from an exact-aspect size.
        assert abs(width * aspect_h - height * aspect_w) <= multiple * (aspect_w + aspect_h)


@settings(max_examples=300, deadline=None)
@given(_aspects, st.integers(256, 1024), st.sampled_from([8, 16]))
def test_area_stays_near_native_when_the_budget_allows(aspect, native, multiple):
    width, height = fit_size(aspect, native, multiple, max_pixels=4096 * 4096)
    ideal_w = native * math.sqrt(aspect[0] / aspect[1])
    ideal_h = native * math.sqrt(aspect[1] / aspect[0])
    assert abs(width - ideal_w) <= multiple / 2 and abs(height - ideal_h) <= multiple / 2
