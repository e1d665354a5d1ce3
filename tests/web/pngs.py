"""A small PNG reader for tests: the picture as greyscale pixels, for a QR decoder to read.

Reads what segno and Chromium's screenshots write: 1- or 8-bit greyscale, palette, RGB or
RGBA, not interlaced, every row filter. Pure Python: fine for a QR code, slow for a page.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _unfilter(raw: bytes, height: int, stride: int, step: int) -> list[bytearray]:
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up))
                near = min(near, (abs(guess - corner), 2, corner))
                line[i] = (line[i] + near[2]) & 255
        rows.append(line)
        previous = line
    return rows


def png_pixels(data: bytes) -> np.ndarray:
    """The PNG's pixels as a 2-D uint8 array of grey levels (0 black, 255 white)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, compressed, palette = 8, b"", b""
    width = height = depth = colour = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunk = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert interlace == 0, "interlaced PNGs are not read here"
        elif kind == b"PLTE":
            palette = chunk
        elif kind == b"IDAT":
            compressed += chunk
    channels = _CHANNELS[colour]
    bits = depth * channels
    stride = (width * bits + 7) // 8
    rows = _unfilter(zlib.decompress(compressed), height, stride, max(1, bits // 8))
    packed = np.array(rows, dtype=np.uint8)
    if depth < 8:
        levels = np.unpackbits(packed, axis=1).reshape(height, -1, depth)[:, :width]
        values = np.zeros((height, width), dtype=np.uint16)
        for bit in range(depth):
            values = values * 2 + levels[:, :, bit]
        samples = values.reshape(height, width, 1)
        scale = 255 // (2**depth - 1)
    else:
        samples = packed.reshape(height, width, channels).astype(np.uint16)
        scale = 1
    if colour == 3:
        colours = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3).astype(np.uint16)
        rgb = colours[samples[:, :, 0]]
        return (rgb.sum(axis=2) // 3).astype(np.uint8)
    if colour in (2, 6):
        return (samples[:, :, :3].sum(axis=2) // 3).astype(np.uint8)
    return (samples[:, :, 0] * scale).astype(np.uint8)
