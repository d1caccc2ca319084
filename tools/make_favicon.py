"""Draw BL Intake's favicon: white "BL" on the header's blue, as SVG and as ICO.

    python tools/make_favicon.py     # writes intake/static/favicon.svg and favicon.ico

The letters are pixels on a 16 × 16 grid, so the SVG (for browsers, from <link rel="icon">)
and the ICO (for clients that ask for /favicon.ico) are the same picture. The ICO holds PNG
images, 16 and 32 pixels square, written with the standard library alone.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "intake" / "static"
BLUE = (0x00, 0x3B, 0x5C)  # .site-header in intake.css
WHITE = (0xFF, 0xFF, 0xFF)
SIZE = 16
LETTERS = [  # "B" in columns 2–6, "L" in columns 9–13, rows 4–11
    "................",
    "................",
    "................",
    "................",
    "..XXXX...X......",
    "..X...X..X......",
    "..X...X..X......",
    "..XXXX...X......",
    "..X...X..X......",
    "..X...X..X......",
    "..X...X..X......",
    "..XXXX...XXXXX..",
    "................",
    "................",
    "................",
    "................",
]


def svg() -> str:
    runs = []
    for y, row in enumerate(LETTERS):
        x = 0
        while x < SIZE:
            if row[x] == "X":
                start = x
                while x < SIZE and row[x] == "X":
                    x += 1
                runs.append(f'<rect x="{start}" y="{y}" width="{x - start}" height="1"/>')
            else:
                x += 1
    blue = "#{:02x}{:02x}{:02x}".format(*BLUE)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" shape-rendering="crispEdges">'
        f'<rect width="16" height="16" rx="2" fill="{blue}"/><g fill="#fff">{"".join(runs)}</g>'
        "</svg>\n"
    )


def png(scale: int) -> bytes:
    side = SIZE * scale
    rows = b""
    for y in range(side):
        row = LETTERS[y // scale]
        pixels = b"".join(
            bytes((*(WHITE if row[x // scale] == "X" else BLUE), 255)) for x in range(side)
        )
        rows += b"\x00" + pixels  # filter type 0 per scanline

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def ico(images: list[tuple[int, bytes]]) -> bytes:
    directory = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, data = b"", b""
    for side, image in images:
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
        data += image
    return directory + entries + data


def main() -> None:
    (STATIC / "favicon.svg").write_text(svg(), encoding="utf-8")
    (STATIC / "favicon.ico").write_bytes(ico([(16, png(1)), (32, png(2))]))


if __name__ == "__main__":
    main()
