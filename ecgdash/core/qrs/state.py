"""Compact, safe binary encoding of detector state (no pickle).

Layout: magic ``b"QRS"``, format version (1 byte), header length (uint32 little-endian), a JSON
header listing each field's name, dtype and shape, then the fields' raw little-endian bytes in
header order. Floats round-trip bit-exactly, which the chunk-invariance guarantee relies on.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

MAGIC = b"QRS"
VERSION = 3  # 3: window floors in the quality ring (noise rule); 2: quarter-window maxima


class StateError(ValueError):
    """A state blob is not one this version of the detector wrote."""


def encode_state(fields: dict[str, Any]) -> bytes:
    """Encode scalars and numpy arrays (numeric or bool) into one blob."""
    header: list[list[Any]] = []
    payload: list[bytes] = []
    for name, value in fields.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"state field {name!r} has unsupported dtype {arr.dtype}")
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        header.append([name, arr.dtype.str, list(arr.shape)])
        payload.append(np.ascontiguousarray(arr).tobytes())
    head = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + bytes([VERSION]) + struct.pack("<I", len(head)) + head + b"".join(payload)


def decode_state(blob: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`encode_state`; scalars come back as 0-d arrays."""
    if len(blob) < 8 or blob[:3] != MAGIC:
        raise StateError("not a QRS detector state blob (bad magic)")
    if blob[3] != VERSION:
        raise StateError(f"QRS state version {blob[3]} is not supported (expected {VERSION})")
    (hlen,) = struct.unpack("<I", blob[4:8])
    try:
        header = json.loads(blob[8 : 8 + hlen])
    except ValueError as exc:
        raise StateError("QRS state header is corrupt") from exc
    pos = 8 + hlen
    out: dict[str, np.ndarray] = {}
    for name, dtype, shape in header:
        dt = np.dtype(dtype)
        count = int(np.prod(shape)) if shape else 1
        nbytes = count * dt.itemsize
        if pos + nbytes > len(blob):
            raise StateError(f"QRS state is truncated at field {name!r}")
        out[name] = np.frombuffer(blob, dtype=dt, count=count, offset=pos).reshape(shape).copy()
        pos += nbytes
    return out
