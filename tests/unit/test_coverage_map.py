"""The overview's map, without an app: its colours, its projection, its markup."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from intake.backoffice.coverage import Coverage, Signals, Stage
from intake.backoffice.coverage_map import (
    BORNHOLM,
    STAGE_COLOURS,
    coverage_map_svg,
    projected,
)
from intake.reference_data import municipalities
from intake.routing.model import Municipality

SVG = "{http://www.w3.org/2000/svg}"

# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
# color vision deficiency", severity 1.0: the full dichromacies, applied to linear RGB.
VISION: dict[str, tuple[tuple[float, float, float], ...]] = {
    "normal": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def seen_as_lab(colour: str, vision: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour as a reader with this vision sees it."""
    rgb = [_linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5)]
    r, g, b = (
        min(max(sum(m * c for m, c in zip(row, rgb, strict=True)), 0), 1) for row in VISION[vision]
    )
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


@pytest.mark.parametrize("vision", list(VISION))
def test_every_reader_tells_the_stages_apart(vision):
    """ΔE*ab of 20 or more between any two stages, for normal vision and each dichromacy."""
    seen = {stage: seen_as_lab(colour, vision) for stage, colour in STAGE_COLOURS.items()}
    for (one, a), (other, b) in itertools.combinations(seen.items(), 2):
        distance = sum((p - q) ** 2 for p, q in zip(a, b, strict=True)) ** 0.5
        assert distance >= 20, f"{vision}: {one.name}, {other.name}: ΔE {distance:.1f}"


def test_the_stages_darken_towards_the_aim_so_greyscale_works_too():
    lightness = [seen_as_lab(STAGE_COLOURS[stage], "normal")[0] for stage in Stage]
    assert all(darker <= lighter - 10 for darker, lighter in itertools.pairwise(lightness))


def test_every_stage_has_a_colour():
    assert set(STAGE_COLOURS) == set(Stage)


def _points(path: str) -> list[tuple[float, float]]:
    """The absolute points of a path of M (absolute), l (relative) and z."""
    points: list[tuple[float, float]] = []
    for command, x, y in re.findall(r"([Ml])(-?[\d.]+) (-?[\d.]+)", path):
        if command == "M":
            points.append((float(x), float(y)))
        else:
            last = points[-1]
            points.append((last[0] + float(x), last[1] + float(y)))
    return points


def test_the_outlines_fit_the_picture_and_bornholm_its_inset():
    drawn = projected()
    assert set(drawn.shapes) == set(municipalities())  # the 98, by kommunekode
    x, y, width, height = drawn.inset
    for code, shape in drawn.shapes.items():
        points = _points(shape.path)
        assert len(points) >= 4, code
        assert all(0 <= px <= drawn.width and 0 <= py <= drawn.height for px, py in points), code
        inside_inset = all(x <= px <= x + width and y <= py <= y + height for px, py in points)
        assert inside_inset == (code == BORNHOLM), code
    # North up: Skagen (Frederikshavn, 813) above Sønderborg (540); west left: Esbjerg
    # (561) left of København (101).
    top = {code: min(p[1] for p in _points(s.path)) for code, s in drawn.shapes.items()}
    left = {code: min(p[0] for p in _points(s.path)) for code, s in drawn.shapes.items()}
    assert top["813"] < top["540"] and left["561"] < left["101"]
    assert drawn.height > drawn.width  # Denmark is taller than wide once projected


def test_the_map_escapes_what_it_is_given():
    odd = Municipality("101", 'Kø<b>benhavn & "Co"', 1, "confirmed", "")
    svg = coverage_map_svg(
        [Coverage(odd, Signals(orders=1))],
        link=lambda code: f"/kommune?k={code}&x=<y>",
        title="Kort & <titel>",
        description="Beskrivelse",
    )
    root = ET.fromstring(svg)  # noqa: S314 - the app's own output, not untrusted data
    (link,) = root.iter(f"{SVG}a")
    assert link.get("href") == "/kommune?k=101&x=<y>"
    assert link.find(f"{SVG}title").text == 'Kø<b>benhavn & "Co": har bestilt pjecer'
    assert link.find(f"{SVG}path").get("fill") == STAGE_COLOURS[Stage.ORDERED]
    assert root.find(f"{SVG}title").text == "Kort & <titel>"
    assert "<script" not in svg and "style=" not in svg
