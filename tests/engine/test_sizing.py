import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.flags import aspect_flag, parse_prompt
from engine.request import MAX_ASPECT_RATIO
from engine.sizing import MAX_RATIO_TERM, RATIO_TOLERANCE, aspect_of, fit_size


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


@pytest.mark.parametrize(
    "size, aspect",
    [
        ((1536, 1024), (3, 2)),
        ((1000, 667), (3, 2)),
        ((667, 1000), (2, 3)),
        ((1024, 1024), (1, 1)),
        ((1920, 1080), (16, 9)),
        ((1366, 768), (16, 9)),
        ((1080, 1350), (4, 5)),
        ((4032, 3024), (4, 3)),
        ((1024, 960), (16, 15)),  # its own ratio, though 15:14 is within 1%
        ((2560, 1080), (12, 5)),  # 64:27: nothing within 1% has terms up to 16, so the closest that does
        ((5000, 1000), (4, 1)),
        ((1, 3000), (1, 4)),
    ],
)
def test_known_image_shapes(size, aspect):
    assert aspect_of(*size) == aspect


_sides = st.integers(1, 10000)


def _distance(aspect: tuple[int, int], width: int, height: int) -> float:
    clamp = math.log(MAX_ASPECT_RATIO)
    return abs(math.log(aspect[0] / aspect[1]) - max(-clamp, min(clamp, math.log(width / height))))


_SHORT_RATIOS = [
    (w, h)
    for w in range(1, MAX_RATIO_TERM + 1)
    for h in range(1, MAX_RATIO_TERM + 1)
    if math.gcd(w, h) == 1 and max(w, h) <= MAX_ASPECT_RATIO * min(w, h)
]


@settings(max_examples=2000, deadline=None)
@given(_sides, _sides)
def test_an_images_ratio_is_short_reduced_close_and_parses_as_ar(width, height):
    aspect = aspect_of(width, height)
    assert math.gcd(*aspect) == 1 and max(aspect) <= MAX_RATIO_TERM
    assert parse_prompt(f"a fox {aspect_flag(aspect)}").aspect == aspect  # within --ar's 1:4 .. 4:1
    tolerance = math.log1p(RATIO_TOLERANCE) + 1e-12
    closest = min(_distance(short, width, height) for short in _SHORT_RATIOS)
    assert _distance(aspect, width, height) <= max(tolerance, closest + 1e-12)
    exact = aspect[0] * height == aspect[1] * width
    if not exact and _distance(aspect, width, height) <= tolerance:  # nothing with smaller terms would do
        simpler = [short for short in _SHORT_RATIOS if max(short) < max(aspect)]
        assert all(_distance(short, width, height) > tolerance for short in simpler)


@settings(max_examples=1000, deadline=None)
@given(_sides, _sides, st.integers(2, 50))
def test_turning_or_scaling_an_image_turns_or_keeps_its_ratio(width, height, scale):
    aspect = aspect_of(width, height)
    assert aspect_of(height, width) == aspect[::-1]
    assert aspect_of(width * scale, height * scale) == aspect


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(_SHORT_RATIOS), st.integers(1, 600))
def test_short_ratios_come_back_as_they_are(ratio, scale):
    assert aspect_of(ratio[0] * scale, ratio[1] * scale) == ratio
