"""Byte limits as people read them in a 413: every refusal of a body states its limit alike.

A raw image refused mid-stream said "16777216 bytes per image" where its Content-Length refusal said
"16 MB" (the unit README uses); the client had to divide to see they were the same limit.
"""

from __future__ import annotations

MIB = 1024 * 1024


def human_bytes(n: int) -> str:
    """``16 MB`` for 16 MiB (as README writes the defaults), ``1 KB`` for 1024; other sizes exact."""
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"
