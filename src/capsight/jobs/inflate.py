"""A compressed image download inflated a bounded piece at a time, not by httpx.

Why: httpx inflates each network read whole, and 64 KB of gzip'd zeros became 64 MB in memory
before the download's size cap saw it (a small "gzip bomb" per concurrent download). Split from
``downloads.py``, which hands each piece to its size cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

INFLATE_PIECE = 64 * 1024  # the most a compressed response inflates to per step, before the size check
ACCEPT_ENCODING = "gzip, deflate"  # what inflated() decodes; not br or zstd, whatever httpx could


class UnsupportedEncoding(Exception):
    pass


def inflated(raw: Iterable[bytes], content_encoding: str) -> Iterator[bytes]:
    """The body of ``raw`` (network reads) decoded per ``content_encoding``, in pieces of at most
    ``INFLATE_PIECE`` bytes, so the caller's size cap refuses a bomb after a piece past it.

    Encodings other than gzip and deflate pass through undecoded, as httpx does (the image then fails
    to decode, saying so); two compressions stacked are refused (no image server sends them).
    """
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c in ("gzip", "x-gzip", "deflate")]
    if len(codings) > 1:
        raise UnsupportedEncoding(f"Content-Encoding {content_encoding[:100]!r} (stacked compressions)")
    if not codings:
        yield from raw
        return
    deflate = codings[0] == "deflate"
    inflater = zlib.decompressobj(zlib.MAX_WBITS if deflate else 16 + zlib.MAX_WBITS)
    first = True
    for data in raw:
        if first and deflate:  # "deflate" is zlib-wrapped by the RFC, raw deflate by some servers
            try:
                piece = inflater.decompress(data, INFLATE_PIECE)
            except zlib.error:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = inflater.decompress(data, INFLATE_PIECE)
        else:
            piece = inflater.decompress(data, INFLATE_PIECE)
        first = False
        # A full piece may leave output pending in zlib even with all input taken: step until short.
        while True:
            if piece:
                yield piece
            if not inflater.unconsumed_tail and len(piece) < INFLATE_PIECE:
                break
            piece = inflater.decompress(inflater.unconsumed_tail, INFLATE_PIECE)
    tail = inflater.flush()  # all input consumed and the last step short: at most what zlib buffered
    if tail:
        yield tail
