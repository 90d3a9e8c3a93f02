"""Build small ICC v2 RGB profiles at test time (Pillow can write only sRGB, Lab and XYZ ones).

A matrix/TRC display profile: white point, three D50-adapted primaries and one gamma per channel,
which is all Adobe RGB (1998) is, and close to what phones embed for Display P3.
"""

from __future__ import annotations

import struct

# Adobe RGB (1998), primaries chromatically adapted to the D50 connection space (Bradford), gamma 563/256.
ADOBE_RGB_D50 = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
ADOBE_GAMMA = 563 / 256
D50 = (0.9642, 1.0, 0.8249)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    body = b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_text)) + ascii_text
    return body + b"\x00" * 8 + b"\x00\x00\x00" + b"\x00" * 67  # no Unicode, no ScriptCode text


def _curve(gamma: float) -> bytes:
    return b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"


def rgb_profile(
    description: str = "Adobe RGB (1998) compatible",
    primaries: tuple[tuple[float, float, float], ...] = ADOBE_RGB_D50,
    gamma: float = ADOBE_GAMMA,
) -> bytes:
    """The bytes of an ICC v2 RGB display profile."""
    curve = _curve(gamma)
    tags = [
        (b"desc", _desc(description)),
        (b"cprt", b"text\x00\x00\x00\x00public domain\x00"),
        (b"wtpt", _xyz(*D50)),
        (b"rXYZ", _xyz(*primaries[0])),
        (b"gXYZ", _xyz(*primaries[1])),
        (b"bXYZ", _xyz(*primaries[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\x00" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I", size) + b"\x00" * 4 + b"\x02\x10\x00\x00" + b"mntrRGB XYZ "
    header += struct.pack(">6H", 2026, 11, 27, 0, 0, 0) + b"acsp" + b"\x00" * 24
    header += struct.pack(">I", 0) + _s15(D50[0]) + _s15(D50[1]) + _s15(D50[2])
    header += b"\x00" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


def adobe_to_srgb(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Reference Adobe RGB -> sRGB by the published D65 matrices, independent of littleCMS."""
    linear = [(c / 255) ** ADOBE_GAMMA for c in rgb]
    to_xyz = ((0.5767, 0.1856, 0.1882), (0.2974, 0.6273, 0.0753), (0.0270, 0.0707, 0.9911))
    to_srgb = ((3.2406, -1.5372, -0.4986), (-0.9689, 1.8758, 0.0415), (0.0557, -0.2040, 1.0570))
    xyz = [sum(m * c for m, c in zip(row, linear, strict=True)) for row in to_xyz]
    out = [min(1.0, max(0.0, sum(m * c for m, c in zip(row, xyz, strict=True)))) for row in to_srgb]
    encoded = [12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055 for c in out]
    return (round(encoded[0] * 255), round(encoded[1] * 255), round(encoded[2] * 255))
