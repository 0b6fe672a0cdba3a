#!/usr/bin/env python3
"""Draws the app's icons (public/icons/*.png): a campus card, white with a gold chip, on the
portal's blue. Plain Python (zlib only), so any machine makes the same bytes.

    python3 scripts/make-icons.py

The card sits inside the middle 80 % of the square: the safe zone of a maskable icon, which a
phone may crop to a circle or a rounded square.
"""
import struct
import zlib
from pathlib import Path

BLUE = (0x0B, 0x5C, 0xAD)
WHITE = (0xFF, 0xFF, 0xFF)
GOLD = (0xF5, 0xC5, 0x42)

# Shapes on a 512 × 512 canvas: (x, y, width, height, corner radius, colour), drawn in order.
SHAPES = [
    (96, 156, 320, 200, 28, WHITE),  # the card
    (132, 200, 76, 58, 10, GOLD),  # its chip
    (132, 296, 170, 22, 11, BLUE),  # the card number
    (320, 200, 60, 22, 11, BLUE),  # the campus mark
]
SAMPLES = 3  # per axis, for smooth edges


def inside(px, py, shape):
    x, y, w, h, r, _ = shape
    if px < x or py < y or px > x + w or py > y + h:
        return False
    cx = min(max(px, x + r), x + w - r)
    cy = min(max(py, y + r), y + h - r)
    return (px - cx) ** 2 + (py - cy) ** 2 <= r * r


def draw(size):
    scale = 512 / size
    rows = []
    for j in range(size):
        row = bytearray([0])  # filter: none
        for i in range(size):
            acc = [0, 0, 0]
            for sj in range(SAMPLES):
                for si in range(SAMPLES):
                    px = (i + (si + 0.5) / SAMPLES) * scale
                    py = (j + (sj + 0.5) / SAMPLES) * scale
                    colour = BLUE
                    for shape in SHAPES:
                        if inside(px, py, shape):
                            colour = shape[5]
                    for c in range(3):
                        acc[c] += colour[c]
            row += bytes(round(a / SAMPLES**2) for a in acc)
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    out = Path(__file__).resolve().parent.parent / "public" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in (180, 192, 512):
        (out / f"icon-{size}.png").write_bytes(draw(size))
        print(f"public/icons/icon-{size}.png")


if __name__ == "__main__":
    main()
