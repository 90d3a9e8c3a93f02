"""Damaged uploads of every format get a clear 4xx, never a 500: a seeded, bounded mutation fuzz.

Small valid images of each format the decoder accepts are built here with Pillow, then damaged in
ways an upload cut short, a broken tool or a hostile client produces (bit flips, bytes set to 0x00,
0xFF or noise, a chunk's length set to zero or to 4 GB, truncation at many offsets, chunks duplicated,
swapped or dropped, bytes inserted), and each result goes through ``decode_image`` with the limits
the API uses. The outcome must be a decoded image or a CapsightError with a 4xx status: any other
exception would reach the client as a 500.

Every case is derived from its seed image's name and its index (``random.Random`` seeded by string),
so a failure names a case that ``mutated(name, index)`` rebuilds exactly. CAPSIGHT_FUZZ_SCALE=N runs
N times as many cases (off by default) and prints the slowest cases and the largest RSS growths, for
a hunt: durations are reported there, never asserted.
"""

from __future__ import annotations

import io
import itertools
import os
import random
import re
import resource
import struct
import time
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from capsight.errors import CapsightError
from capsight.imaging.decode import decode_image
from capsight.settings import Settings

# The API's call: ``service.py`` decodes with the model's decode hint (the bundled model's is 160) and
# the configured pixel limit.
MIN_SIDE = 160
MAX_PIXELS: int = Settings.model_fields["max_pixels"].default
SCALE = int(os.environ.get("CAPSIGHT_FUZZ_SCALE", "1"))
RANDOM_CASES = 240 * SCALE  # per seed image
TRUNCATIONS = 32 * SCALE  # per seed image, evenly spread over its length

Field = tuple[int, int, str]  # offset, size in bytes, byte order: a length, count, size or offset
Span = tuple[int, int]  # start, end of a chunk, segment, box or block


def _picture(size: tuple[int, int] = (40, 30), mode: str = "RGB") -> Image.Image:
    """A gradient with some noise: real entropy-coded data, not one flat run."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    rgb = np.stack([x * 6, y * 8, (x + y) * 3], axis=-1) + rng.integers(0, 24, (size[1], size[0], 3))
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return image.convert(mode)


def _grey16() -> Image.Image:
    y, x = np.mgrid[0:30, 0:40]
    return Image.fromarray((x * 1500 + y * 40).astype(np.uint16)).convert("I;16")


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def _png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "fuzz seed", zip=True)
    info.add_itxt("XML:com.adobe.xmp", _XMP.decode())
    return _save(_picture(mode="RGBA"), "PNG", pnginfo=info, exif=_exif(6))


def _apng(default_image: bool) -> bytes:
    frames = [_picture(mode="RGBA"), _picture(mode="RGBA").rotate(90), _picture(mode="RGBA").rotate(180)]
    data = _save(
        frames[0], "PNG", save_all=True, append_images=frames[1:], default_image=default_image, duration=50
    )
    assert b"acTL" in data
    return data


def _gif_blocks(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(header with global table, first image's descriptor up to its data's end, rest) of a GIF."""
    table = 3 * (2 << (data[10] & 7)) if data[10] & 0x80 else 0
    at = 13 + table
    while data[at] == 0x21:  # extensions Pillow writes before the image
        at = _sub_blocks_end(data, at + 2)
    start = at
    at += 10
    if data[start + 9] & 0x80:
        at += 3 * (2 << (data[start + 9] & 7))
    return data[: 13 + table], data[start : _sub_blocks_end(data, at + 1)], data[13 + table : start]


def _sub_blocks_end(data: bytes, at: int) -> int:
    while at < len(data) and data[at]:
        at += 1 + data[at]
    return at + 1


def _animated_gif_sub_canvas() -> bytes:
    """A two-frame GIF whose first frame covers only part of its 40x30 canvas (gif_canvas.py)."""
    palette_image = _picture().quantize(16)
    full = _save(palette_image, "GIF")
    small = _save(palette_image.crop((0, 0, 20, 12)), "GIF")
    header, full_image, _ = _gif_blocks(full)
    _, small_image, _ = _gif_blocks(small)
    small_image = small_image[:1] + struct.pack("<HH", 9, 7) + small_image[5:]  # left 9, top 7
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    control = b"\x21\xf9\x04\x04\x05\x00\x00\x00"  # keep the frame, 50 ms, no transparency
    return header + loop + control + small_image + control + full_image + b"\x3b"


def _seeds() -> dict[str, bytes]:
    picture = _picture()
    seeds = {
        "jpeg-baseline": _save(picture, "JPEG", quality=80, exif=_exif(6)),
        "jpeg-progressive": _save(picture, "JPEG", quality=80, progressive=True),
        "jpeg-cmyk": _save(picture.convert("CMYK"), "JPEG", quality=80),
        # Large enough for the decoder to draft it at 1/2 scale for the model.
        "jpeg-drafted": _save(_picture((400, 340)), "JPEG", quality=60, progressive=True),
        "png": _png(),
        "png-palette": _save(picture.quantize(16), "PNG", transparency=0),
        "png-grey16": _save(_grey16(), "PNG", transparency=1000),  # a 16-bit colour key
        "apng-default-image": _apng(default_image=True),
        "apng-first-frame": _apng(default_image=False),
        "gif-sub-canvas": _animated_gif_sub_canvas(),
        "webp-still": _save(picture, "WEBP", quality=70, exif=_exif(3), xmp=_XMP),
        "webp-animated": _save(
            _picture(mode="RGBA"), "WEBP", save_all=True, append_images=[picture.rotate(90)], duration=50
        ),
        "bmp": _save(picture, "BMP"),
        "bmp-palette": _save(picture.quantize(16), "BMP"),
        "tiff": _save(picture, "TIFF", compression="tiff_lzw", exif=_exif(8)),
        "tiff-raw": _save(picture, "TIFF"),
        "avif": _save(picture, "AVIF", quality=60),
    }
    try:
        import pillow_heif
    except ImportError:  # the [heic] extra; without it a HEIC upload is refused before any parsing
        return seeds
    pillow_heif.register_heif_opener()  # to write the seed only; capsight registers it for reading
    seeds["heic"] = _save(picture, "HEIF", quality=60)
    return seeds


SEEDS = _seeds()


# Where each format keeps its lengths and chunks, found on the (possibly already damaged) bytes. The
# walks stop at whatever does not parse: they only choose where to aim a mutation.


_PNG_SIZES = {b"IHDR": (0, 4), b"fcTL": (0, 4, 8, 12, 16), b"acTL": (0, 4)}


def _png_structure(data: bytes) -> tuple[list[Field], list[Span]]:
    fields, spans, at = [], [], 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        end = min(len(data), at + 12 + length)
        fields.append((at, 4, "big"))
        spans.append((at, end))
        kind = data[at + 4 : at + 8]
        if kind in _PNG_SIZES:  # the canvas, a frame's size and place, the frame and loop counts
            fields += [(at + 8 + offset, 4, "big") for offset in _PNG_SIZES[kind]]
        at = end
    return fields, spans


def _with_png_crcs(data: bytes) -> bytes:
    """``data`` with every chunk's CRC made right, so that damage inside it reaches the parsers
    behind Pillow's CRC check (``apng.py`` writes its own CRCs and checks none)."""
    out, at = bytearray(data), 8
    while at + 12 <= len(out):
        end = at + 12 + int.from_bytes(out[at : at + 4], "big")
        if end > len(out):
            break
        out[end - 4 : end] = struct.pack(">I", zlib.crc32(out[at + 4 : end - 4]))
        at = end
    return bytes(out)


_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff\xd8\xd9\x01]")


def _jpeg_structure(data: bytes) -> tuple[list[Field], list[Span]]:
    fields, spans, at = [], [], 2
    while (found := _JPEG_MARKER.search(data, at)) is not None:
        start = found.start()
        length = int.from_bytes(data[start + 2 : start + 4], "big")
        fields.append((start + 2, 2, "big"))
        spans.append((start, min(len(data), start + 2 + length)))
        at = start + 2 + max(length, 2)
    return fields, spans


def _riff_structure(data: bytes, at: int = 12, stop: int | None = None) -> tuple[list[Field], list[Span]]:
    fields: list[Field] = [(4, 4, "little")] if at == 12 else []
    spans: list[Span] = []
    stop = len(data) if stop is None else stop
    while at + 8 <= stop:
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        end = min(stop, at + 8 + size + (size & 1))
        fields.append((at + 4, 4, "little"))
        spans.append((at, end))
        if data[at : at + 4] == b"ANMF":  # a frame: 16 bytes of placement, then its own chunks
            inner_fields, inner_spans = _riff_structure(data, at + 24, end)
            fields += inner_fields
            spans += inner_spans
        at = end
    return fields, spans


_ISO_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"dinf": 0, b"iinf": 6, b"iref": 4}


def _iso_structure(data: bytes, at: int = 0, stop: int | None = None) -> tuple[list[Field], list[Span]]:
    fields: list[Field] = []
    spans: list[Span] = []
    stop = len(data) if stop is None else stop
    while at + 8 <= stop:
        size = int.from_bytes(data[at : at + 4], "big")
        end = min(stop, at + max(size, 8))
        fields.append((at, 4, "big"))
        spans.append((at, end))
        kind = data[at + 4 : at + 8]
        if kind in _ISO_CONTAINERS:
            inner_fields, inner_spans = _iso_structure(data, at + 8 + _ISO_CONTAINERS[kind], end)
            fields += inner_fields
            spans += inner_spans
        at = end
    return fields, spans


def _gif_structure(data: bytes) -> tuple[list[Field], list[Span]]:
    fields: list[Field] = [(6, 2, "little"), (8, 2, "little"), (10, 1, "little")]
    spans: list[Span] = []
    if len(data) < 13:
        return fields, spans
    at = 13 + (3 * (2 << (data[10] & 7)) if data[10] & 0x80 else 0)
    while at < len(data) and data[at] in (0x21, 0x2C):
        start = at
        if data[at] == 0x21:
            at += 2
        else:
            fields += [(at + 1 + 2 * i, 2, "little") for i in range(4)] + [(at + 9, 1, "little")]
            flags = data[at + 9] if at + 9 < len(data) else 0
            at += 10 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0) + 1  # table, LZW code size
        while at < len(data) and data[at]:
            fields.append((at, 1, "little"))
            at += 1 + data[at]
        at += 1
        spans.append((start, min(at, len(data))))
    return fields, spans


_BMP_FIELDS: list[Field] = [
    (2, 4, "little"),  # file size
    (10, 4, "little"),  # pixel data offset
    (14, 4, "little"),  # header size
    (18, 4, "little"),  # width
    (22, 4, "little"),  # height
    (28, 2, "little"),  # bits per pixel
    (30, 4, "little"),  # compression
    (34, 4, "little"),  # image size
    (46, 4, "little"),  # colours used
]


def _bmp_structure(data: bytes) -> tuple[list[Field], list[Span]]:
    return _BMP_FIELDS, [(54, min(len(data), 54 + 64))]  # the colour table, if any


def _tiff_structure(data: bytes) -> tuple[list[Field], list[Span]]:
    order = "little" if data[:2] == b"II" else "big"
    fields: list[Field] = [(4, 4, order)]
    spans: list[Span] = []
    ifd = int.from_bytes(data[4:8], order)
    count = int.from_bytes(data[ifd : ifd + 2], order) if ifd + 2 <= len(data) else 0
    fields.append((ifd, 2, order))
    for entry in range(ifd + 2, min(len(data) - 11, ifd + 2 + 12 * count), 12):
        fields += [(entry + 4, 4, order), (entry + 8, 4, order)]
        spans.append((entry, entry + 12))
    return fields, spans


_STRUCTURES: dict[str, Callable[[bytes], tuple[list[Field], list[Span]]]] = {
    "jpeg": _jpeg_structure,
    "png": _png_structure,
    "apng": _png_structure,
    "gif": _gif_structure,
    "webp": _riff_structure,
    "bmp": _bmp_structure,
    "tiff": _tiff_structure,
    "avif": _iso_structure,
    "heic": _iso_structure,
}


def _structure(name: str, data: bytes) -> tuple[list[Field], list[Span]]:
    fields, spans = _STRUCTURES[name.split("-")[0]](data)
    return [f for f in fields if f[0] + f[1] <= len(data)], [s for s in spans if s[0] < s[1] <= len(data)]


# The mutations. Each takes (rng, data, fields, spans) and returns the damaged bytes and what it did.


def _flip_bits(rng: random.Random, data: bytes, *_: object) -> tuple[bytes, str]:
    out = bytearray(data)
    bits = [rng.randrange(len(out) * 8) for _ in range(rng.randint(1, 4))]
    for bit in bits:
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out), f"flip bits {bits}"


def _overwrite(rng: random.Random, data: bytes, *_: object) -> tuple[bytes, str]:
    at, run = rng.randrange(len(data)), rng.randint(1, 4)
    value = rng.choice([0x00, 0xFF, rng.randrange(256)])
    fill = bytes([value] * run) if rng.random() < 0.7 else rng.randbytes(run)
    return data[:at] + fill + data[at + run :], f"overwrite {at} with {fill.hex()}"


def _set_field(rng: random.Random, data: bytes, fields: list[Field], _: list[Span]) -> tuple[bytes, str]:
    if not fields:
        return _overwrite(rng, data)
    at, size, order = rng.choice(fields)
    top = (1 << (8 * size)) - 1
    value = rng.choice([0, 1, top, top >> 1, top - 7, rng.randrange(top + 1)])
    new = value.to_bytes(size, order)  # type: ignore[arg-type]
    return data[:at] + new + data[at + size :], f"field at {at} set to {value}"


def _truncate(rng: random.Random, data: bytes, *_: object) -> tuple[bytes, str]:
    at = rng.randrange(1, len(data))
    return data[:at], f"truncate at {at}"


def _insert(rng: random.Random, data: bytes, *_: object) -> tuple[bytes, str]:
    at, extra = rng.randrange(len(data)), rng.randbytes(rng.randint(1, 16))
    return data[:at] + extra + data[at:], f"insert {extra.hex()} at {at}"


def _duplicate(rng: random.Random, data: bytes, _: list[Field], spans: list[Span]) -> tuple[bytes, str]:
    if not spans:
        return _insert(rng, data)
    start, end = rng.choice(spans)
    copies = rng.choice([1, 1, 2, 8])
    return data[:end] + data[start:end] * copies + data[end:], f"duplicate {start}:{end} x{copies}"


def _swap(rng: random.Random, data: bytes, _: list[Field], spans: list[Span]) -> tuple[bytes, str]:
    ordered = sorted(spans)
    pairs = [(a, b) for a, b in itertools.pairwise(ordered) if a[1] <= b[0]]
    if not pairs:
        return _flip_bits(rng, data)
    (a0, a1), (b0, b1) = rng.choice(pairs)
    return data[:a0] + data[b0:b1] + data[a1:b0] + data[a0:a1] + data[b1:], f"swap {a0}:{a1} {b0}:{b1}"


def _drop(rng: random.Random, data: bytes, _: list[Field], spans: list[Span]) -> tuple[bytes, str]:
    if not spans:
        return _truncate(rng, data)
    start, end = rng.choice(spans)
    return data[:start] + data[end:], f"drop {start}:{end}"


_MUTATIONS = (_flip_bits, _overwrite, _set_field, _set_field, _truncate, _insert, _duplicate, _swap, _drop)


def mutated(name: str, index: int) -> tuple[bytes, str]:
    """Case ``index`` of seed ``name``: the damaged bytes and the steps that made them."""
    data = SEEDS[name]
    if index < 0:  # truncations spread evenly, -1 the last
        at = len(data) * -index // (TRUNCATIONS + 1)
        return data[:at], f"truncate at {at}"
    rng = random.Random(f"{name}:{index}")
    steps = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        fields, spans = _structure(name, data)
        data, step = rng.choice(_MUTATIONS)(rng, data, fields, spans)
        steps.append(step)
        if len(data) < 2:  # nothing left to aim at
            break
    if name.startswith(("png", "apng")) and rng.random() < 0.5:
        data = _with_png_crcs(data)
        steps.append("CRCs made right")
    return data, "; ".join(steps)


def _outcome(data: bytes) -> str | None:
    """None when ``data`` is decoded or refused with a 4xx CapsightError; else what went wrong."""
    try:
        decoded = decode_image(data, min_side=MIN_SIDE, max_pixels=MAX_PIXELS)
    except CapsightError as exc:
        return None if 400 <= exc.status_code < 500 else f"{type(exc).__name__} ({exc.status_code}): {exc}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if decoded.image.mode != "RGB" or decoded.image.size[0] <= 0 or decoded.image.size[1] <= 0:
        return f"decoded to {decoded.image.mode} {decoded.image.size}"
    return None


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_each_seed_image_decodes(name: str) -> None:
    """Each seed is a valid image the decoder reads: else its mutations would test nothing."""
    decoded = decode_image(SEEDS[name], min_side=MIN_SIDE, max_pixels=MAX_PIXELS)
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) in ((40, 30), (30, 40), (400, 340))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_damaged_images_are_decoded_or_refused_with_a_4xx(name: str) -> None:
    failures, timings = [], []
    for index in [*range(-TRUNCATIONS, 0), *range(RANDOM_CASES)]:
        data, steps = mutated(name, index)
        rss, start = _rss_mb(), time.perf_counter()
        problem = _outcome(data)
        timings.append((time.perf_counter() - start, _rss_mb() - rss, index, steps))
        if problem is not None:
            failures.append(f"mutated({name!r}, {index}) [{steps}]: {problem}")
    if SCALE > 1:  # a hunt: report the slowest cases and the largest peak-memory growths
        for seconds, grown, index, steps in sorted(timings, reverse=True)[:3]:
            print(f"slowest {name} {index}: {seconds:.3f} s, +{grown:.0f} MB peak RSS [{steps}]")
        for seconds, grown, index, steps in sorted(timings, key=lambda t: -t[1])[:1]:
            print(f"largest {name} {index}: +{grown:.0f} MB peak RSS, {seconds:.3f} s [{steps}]")
    assert not failures, "\n".join(failures)
