"""Whether a progressive JPEG holds all of its picture: every coefficient sent to its last bit.

Why: a progressive JPEG is a series of scans, each adding detail to the whole picture (the first is
often just the 8x8 block averages). Cut off between two scans and closed with an end marker (an upload
cut short that a client "repaired"), it decodes without a single libjpeg warning into a blurred, often
colourless picture: what a browser shows while such a file is still loading. That was answered 200,
where a cut-off JPEG is a 400. libjpeg's own scan scripts, mozjpeg's and Photoshop's send every
coefficient of every component to its last bit (an ``Al`` of 0), so a scan list that does not is
taken as cut short.

A sequential JPEG whose scans each carry some of the components (old scanners, jpegtran's scan
scripts) is the same case: cut between them it is a grey picture without its colour
scans, decoded without a warning; it needs a scan for every component.

The scans are found by walking the segments to the first end marker (an MPO's later pictures are not
looked at), jumping over entropy-coded data to its next marker with a regular expression, so a file
costs a few steps per 0xFF byte of its data, in C. Baseline JPEGs whose first scan carries every
component (what cameras and phones write) are not walked at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from capsight.errors import InvalidImage
from capsight.imaging.jpeg_headers import FrameHeader, frame_header

_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})  # SOF2, SOF6, SOF10, SOF14
# A marker: 0xFF followed by neither a stuffed zero, a restart marker (no length, inside the data)
# nor another 0xFF (fill: the marker is the last 0xFF of a run).
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS, _EOI, _TEM = 0xDA, 0xD9, 0x01
_COEFFICIENTS = 64


def _segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of each segment of the first picture, up to its end marker; stops early
    where a length runs past the data."""
    at = 2  # after SOI
    while (found := _MARKER.search(data, at)) is not None:
        start = found.start()
        marker = data[start + 1]
        if marker == _EOI:
            return
        if marker == _TEM:
            at = start + 2
            continue
        end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
        if end > len(data) or end < start + 4:
            return
        yield marker, data[start + 4 : end]
        at = end


def progression_is_whole(data: bytes, frame: FrameHeader | None = None) -> bool:
    """False when ``data`` is a progressive JPEG whose scans leave some coefficient of some component
    short of its last bit, or a sequential one with a scan per component that lacks a component's scan;
    True for any other JPEG, and for segments that cannot be read (the decoder judges those)."""
    frame = frame if frame is not None else frame_header(data)
    progressive = frame is not None and frame.marker in _PROGRESSIVE
    if frame is None or (not progressive and frame.first_scan_components == frame.components):
        return True  # a sequential JPEG whose first scan carries every component: whole in one scan
    unfinished: dict[int, set[int]] | None = None  # component id -> coefficients not sent in full
    for marker, payload in _segments(data):
        if marker == frame.marker and unfinished is None and len(payload) >= 6:
            count = payload[5]
            ids = payload[6 : 6 + 3 * count : 3]
            unfinished = {component: set(range(_COEFFICIENTS)) for component in ids}
        elif marker == _SOS and unfinished is not None and payload:
            count = payload[0]
            if len(payload) < 4 + 2 * count:
                return True
            ids = payload[1 : 1 + 2 * count : 2]
            first, last, approximation = payload[1 + 2 * count : 4 + 2 * count]
            if not progressive:  # a sequential scan sends all of its components' coefficients
                first, last, approximation = 0, _COEFFICIENTS - 1, 0
            if approximation & 0x0F == 0:  # Al = 0: these coefficients now have all their bits
                for component in ids:
                    unfinished.get(component, set()).difference_update(range(first, last + 1))
    return unfinished is None or not any(unfinished.values())


def check_progression(data: bytes, frame: FrameHeader | None = None) -> None:
    """InvalidImage for a progressive JPEG cut off between its scans (see the module docstring)."""
    if not progression_is_whole(data, frame):
        raise InvalidImage("The image could not be decoded (JPEG): it is corrupt or truncated.")
