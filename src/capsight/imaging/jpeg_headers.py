"""What a JPEG's marker segments say before its first scan, read without decoding it.

Two decisions are taken from them before the decoder runs: whether the file may hold more scans
than any encoder writes (each scan is one more pass of the decoder over the whole picture), and, when
decoding fails, whether the reason is a sample precision Pillow cannot read (12-bit) rather than
damage. The walk stops at the first scan, so it costs a few steps whatever the file's size.
"""

from __future__ import annotations

from dataclasses import dataclass

from capsight.errors import InvalidImage

# Start-of-frame markers (SOF0-SOF15 less DHT, JPG and DAC), which give the sample precision.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Sequential Huffman frames (baseline and extended): libjpeg decodes them in one pass when the first
# scan carries every component, and refuses a further scan ("Didn't expect more than one scan").
_SEQUENTIAL_HUFFMAN = frozenset({0xC0, 0xC1})
_SOS = 0xDA

# Start-of-scan markers a JPEG may hold. libjpeg's progression writes 10 scans for colour and 18 for
# CMYK, an MPO a few pictures of those; each scan is one more pass over every block of the picture.
MAX_JPEG_SCANS = 100


@dataclass(frozen=True)
class FrameHeader:
    """The frame header (SOFn) and the first scan header (SOS) of a JPEG."""

    marker: int  # 0xC0 baseline, 0xC2 progressive, ...
    precision: int  # bits per sample
    components: int  # in the frame
    first_scan_components: int | None  # None: no scan header found after the frame header


def frame_header(data: bytes) -> FrameHeader | None:
    """The frame header, or None when the segments before the first scan are not well formed."""
    frame: FrameHeader | None = None
    i = 2  # after SOI
    while i + 4 < len(data):
        if data[i] != 0xFF:
            return frame
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker in _SOF_MARKERS and frame is None and i + 9 < len(data):
            frame = FrameHeader(marker, data[i + 4], data[i + 9], None)
        elif marker == _SOS:
            if frame is None:
                return None
            return FrameHeader(frame.marker, frame.precision, frame.components, data[i + 4])
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return frame


def jpeg_precision(data: bytes) -> int | None:
    """The bits per sample a JPEG's frame header declares, or None when no header is found before the
    first scan. Why: Pillow reads only 8-bit JPEGs and reports a 12-bit one (medical and industrial
    cameras) as an unidentified file, which was answered "corrupt or truncated"."""
    frame = frame_header(data)
    return frame.precision if frame is not None else None


def _one_pass(frame: FrameHeader | None) -> bool:
    """A frame libjpeg decodes in a single scan whatever follows it: sequential, first scan whole."""
    return (
        frame is not None
        and frame.marker in _SEQUENTIAL_HUFFMAN
        and frame.first_scan_components == frame.components
    )


def check_jpeg_scans(data: bytes) -> None:
    """InvalidImage for a JPEG with more scans than any encoder writes, before it is decoded.

    Why: nothing else bounds the decoder's work on a progressive JPEG. One scan repeated 2000 times
    in a 2000x2000 picture (52 KB) took 12 s of CPU, a hundred extra scans of a 49-megapixel one
    11 s. The count is of marker bytes in the file: entropy-coded data cannot hold them (an 0xFF
    there is stuffed), so only a stray pair in a metadata block adds one, far below the limit.

    A sequential JPEG whose first scan carries every component (what cameras and phones write) is
    not counted: libjpeg stops at a second scan by itself, and counting the markers of a 600 KB photo
    cost ~0.8 ms, about 4 % of the server's CPU for a request.
    """
    if _one_pass(frame_header(data)):
        return
    scans = data.count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS:
        raise InvalidImage(
            f"The JPEG has {scans} scans; at most {MAX_JPEG_SCANS} are accepted "
            "(a progressive JPEG has about 10). Re-save it as a baseline JPEG."
        )
