"""The overview's map: Denmark's 98 municipalities, each coloured by its stage, drawn on the
server as SVG (no script, no request to anyone else, no inline style: the page's CSP allows
none of them).

The outlines are DAGI's (intake/data/kommuner.geojson, whose README gives the source and the
credit the map must show). They are projected once per process: longitude is scaled by
cos 56° (the middle of Denmark) so the country keeps its shape, and Bornholm, far out in the
Baltic, is drawn in an inset in the empty sea north-east of Zealand, as Danish maps do.
Each municipality is a link to its requests, named by its `<title>` ("Aarhus: har bedt om
opstartshjælp"); the page gives the same data as a table too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup, escape

from intake.backoffice.coverage import Coverage, Stage
from intake.paths import DATA_DIR

OUTLINES = DATA_DIR / "kommuner.geojson"
CREDIT = "Kort: Styrelsen for Dataforsyning og Infrastruktur, DAGI"
BORNHOLM = "400"

# Colours that readers with any kind of colour blindness can tell apart (viridis, a palette
# made to be: its lightness falls step by step, so the stages differ in greyscale too), from
# light to dark as a municipality comes nearer the aim; no request at all stays a light grey.
STAGE_COLOURS: dict[Stage, str] = {
    Stage.COOPERATION: "#440154",
    Stage.CONTACT: "#31688e",
    Stage.STARTUP: "#35b779",
    Stage.ORDERED: "#a0da39",
    Stage.NOTHING: "#e8e8e8",
}
BORDER = "#ffffff"
INK = "#0b0c0c"

WIDTH = 1000  # the mainland's width in the SVG's own units; the height follows from the shape
MARGIN = 10
INSET_SIZE = 170  # Bornholm's box, in the top right corner
INSET_PADDING = 14
LABEL_ROOM = 22  # under Bornholm, for its name


Point = tuple[float, float]
Ring = list[Point]


@dataclass(frozen=True)
class Shape:
    """One municipality's outline, projected: its SVG path."""

    code: str
    name: str
    path: str


@dataclass(frozen=True)
class Projected:
    width: float
    height: float
    shapes: dict[str, Shape]
    inset: tuple[float, float, float, float]  # Bornholm's box: x, y, width, height


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """A GeoJSON Polygon or MultiPolygon as polygons of rings of (longitude, latitude)."""
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Polygon":
        return [_rings(coordinates)]
    if kind == "MultiPolygon":
        return [_rings(polygon) for polygon in coordinates]
    raise ValueError(f"{OUTLINES.name}: unexpected geometry {kind!r}")


def _rings(polygon: list[list[list[float]]]) -> list[Ring]:
    return [[(float(lon), float(lat)) for lon, lat in ring] for ring in polygon]


def _bounds(rings: Iterable[Ring]) -> tuple[float, float, float, float]:
    points = [point for ring in rings for point in ring]
    lons = [lon for lon, _ in points]
    lats = [lat for _, lat in points]
    return min(lons), min(lats), max(lons), max(lats)


def _path(rings: Iterable[Ring], place: Callable[[Point], Point]) -> str:
    """An SVG path of closed rings, in whole tenths of a unit, each point relative to the one
    before (so the page stays small), dropping points that round to the one before."""
    parts: list[str] = []
    for ring in rings:
        previous: tuple[int, int] | None = None
        steps: list[str] = []
        for point in ring:
            x, y = place(point)
            here = (round(x * 10), round(y * 10))
            if previous is None:
                steps.append(f"M{_tenths(here[0])} {_tenths(here[1])}")
            elif here != previous:
                steps.append(f"l{_tenths(here[0] - previous[0])} {_tenths(here[1] - previous[1])}")
            previous = here
        if len(steps) > 2:
            parts.append("".join(steps) + "z")
    return "".join(parts)


def _tenths(value: int) -> str:
    sign = "-" if value < 0 else ""
    whole, tenth = divmod(abs(value), 10)
    return f"{sign}{whole}.{tenth}" if tenth else f"{sign}{whole}"


@cache
def projected() -> Projected:
    """The outlines as SVG paths, projected once per process."""
    features = json.loads(OUTLINES.read_text(encoding="utf-8"))["features"]
    outlines = {
        str(feature["properties"]["code"]): (
            str(feature["properties"]["name"]),
            [ring for polygon in _polygons(feature["geometry"]) for ring in polygon],
        )
        for feature in features
    }
    squash = math.cos(math.radians(56))
    west, south, east, north = _bounds(
        ring for code, (_, rings) in outlines.items() if code != BORNHOLM for ring in rings
    )
    scale = WIDTH / ((east - west) * squash)
    height = (north - south) * scale

    def mainland(point: Point) -> Point:
        lon, lat = point
        return MARGIN + (lon - west) * squash * scale, MARGIN + (north - lat) * scale

    inset_x = MARGIN + WIDTH - INSET_SIZE
    inset_y = MARGIN
    b_west, b_south, b_east, b_north = _bounds(outlines[BORNHOLM][1])
    b_width = (b_east - b_west) * squash * scale
    b_height = (b_north - b_south) * scale
    left = inset_x + (INSET_SIZE - b_width) / 2
    top = inset_y + (INSET_SIZE - LABEL_ROOM - b_height) / 2

    def bornholm(point: Point) -> Point:
        lon, lat = point
        return left + (lon - b_west) * squash * scale, top + (b_north - lat) * scale

    shapes = {
        code: Shape(code, name, _path(rings, bornholm if code == BORNHOLM else mainland))
        for code, (name, rings) in sorted(outlines.items())
    }
    return Projected(
        width=WIDTH + 2 * MARGIN,
        height=height + 2 * MARGIN,
        shapes=shapes,
        inset=(inset_x, inset_y, INSET_SIZE, INSET_SIZE),
    )


def coverage_map_svg(
    rows: Sequence[Coverage], *, link: Callable[[str], str], title: str, description: str
) -> Markup:
    """The map: one linked shape per municipality of `rows`, filled with its stage's colour."""
    drawn = projected()
    inset_x, inset_y, inset_w, inset_h = drawn.inset
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="coverage-map" '
        f'viewBox="0 0 {drawn.width:.0f} {drawn.height:.0f}" '
        f'role="group" aria-labelledby="kort-title kort-desc">',
        f'<title id="kort-title">{escape(title)}</title>',
        f'<desc id="kort-desc">{escape(description)}</desc>',
        f'<rect x="{inset_x}" y="{inset_y}" width="{inset_w}" height="{inset_h}" '
        f'fill="none" stroke="{INK}" stroke-width="1"/>',
        f'<text x="{inset_x + inset_w / 2}" y="{inset_y + inset_h - 8}" text-anchor="middle" '
        f'font-family="sans-serif" font-size="22" fill="{INK}" aria-hidden="true">Bornholm</text>',
        f'<g stroke="{BORDER}" stroke-width="1" stroke-linejoin="round" fill-rule="evenodd">',
    ]
    for row in rows:
        municipality = row.municipality
        shape = drawn.shapes.get(municipality.code)
        if shape is None:  # a municipality the outlines do not have (none today)
            continue
        name = f"{municipality.name}: {row.stage.label}"
        parts.append(
            f'<a href="{escape(link(municipality.code))}" data-kode="{escape(municipality.code)}">'
            f"<title>{escape(name)}</title>"
            f'<path d="{shape.path}" fill="{STAGE_COLOURS[row.stage]}"/></a>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or our own
