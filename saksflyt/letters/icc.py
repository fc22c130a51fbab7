"""An sRGB colour profile in ICC version 2, the version PDF/A-1 accepts for its output intent.

Built from the published parameters of sRGB (IEC 61966-2-1): its primaries adapted to the D50
white of the profile connection space, and its tone curve sampled 1,024 times. A display profile
with a matrix and three curves is all an output intent for black text on white needs.
"""

from __future__ import annotations

import struct
from functools import cache

D50 = (0.9642, 1.0, 0.8249)
# sRGB's red, green and blue primaries, Bradford-adapted to D50, as the PCS wants them
PRIMARIES = {
    b"rXYZ": (0.4361, 0.2225, 0.0139),
    b"gXYZ": (0.3851, 0.7169, 0.0971),
    b"bXYZ": (0.1431, 0.0606, 0.7141),
}
DESCRIPTION = "sRGB IEC61966-2.1"
SAMPLES = 1024


def _s15f16(values: tuple[float, ...]) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _xyz(values: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + _s15f16(values)


def _curve() -> bytes:
    def linear(c: float) -> float:  # IEC 61966-2-1: the sRGB transfer function
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    points = (round(linear(i / (SAMPLES - 1)) * 65535) for i in range(SAMPLES))
    return b"curv\0\0\0\0" + struct.pack(">I", SAMPLES) + struct.pack(f">{SAMPLES}H", *points)


def _description(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    # textDescriptionType: ASCII, then empty Unicode and ScriptCode parts (67 bytes reserved)
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )


def _text(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


@cache
def srgb_v2() -> bytes:
    curve = _curve()
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _description(DESCRIPTION)),
        (b"cprt", _text("No copyright, use freely")),
        (b"wtpt", _xyz(D50)),
        *((signature, _xyz(xyz)) for signature, xyz in PRIMARIES.items()),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset, entries, body = 128 + table_size, [], b""
    shared: dict[bytes, int] = {}  # the three curves are one block, as ICC allows
    for signature, data in tags:
        if data not in shared:
            shared[data] = offset + len(body)
            body += _padded(data)
        entries.append(struct.pack(">4sII", signature, shared[data], len(data)))
    size = 128 + table_size + len(body)
    created = (2026, 1, 1, 0, 0, 0)  # a fixed date: the same profile in every letter
    header = struct.pack(
        ">I4sI4s4s4s6H4s4sI4s4sQI12s4s44s",
        size,
        b"\0\0\0\0",
        0x02100000,  # version 2.1
        b"mntr",  # display device
        b"RGB ",
        b"XYZ ",
        *created,
        b"acsp",
        b"\0\0\0\0",
        0,  # flags
        b"\0\0\0\0",  # manufacturer
        b"\0\0\0\0",  # model
        0,  # attributes
        0,  # rendering intent: perceptual
        _s15f16(D50),  # illuminant of the connection space
        b"\0\0\0\0",  # creator
        b"\0" * 44,
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + body
