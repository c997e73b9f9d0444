"""The bytes the caller and the PDF worker exchange: a length-prefixed JSON header, then raw blobs.

The worker's answer is parsed as data, never unpickled: a worker that a hostile PDF subverted must
not be able to run code in the caller.
"""

from __future__ import annotations

import json
import struct

_LENGTH = struct.Struct(">Q")
MAX_HEADER_BYTES = 16 * 1024 * 1024


class ProtocolError(ValueError):
    pass


def pack(header: dict, blobs: list[bytes]) -> bytes:
    header = dict(header, blob_sizes=[len(blob) for blob in blobs])
    encoded = json.dumps(header).encode()
    return _LENGTH.pack(len(encoded)) + encoded + b"".join(blobs)


def unpack(data: bytes) -> tuple[dict, list[bytes]]:
    if len(data) < _LENGTH.size:
        raise ProtocolError("message shorter than its length prefix")
    (length,) = _LENGTH.unpack_from(data)
    if length > MAX_HEADER_BYTES or _LENGTH.size + length > len(data):
        raise ProtocolError("header length out of range")
    try:
        header = json.loads(data[_LENGTH.size : _LENGTH.size + length])
    except ValueError as error:
        raise ProtocolError(f"header is not JSON: {error}") from None
    sizes = header.get("blob_sizes") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(isinstance(size, int) and size >= 0 for size in sizes):
        raise ProtocolError("header lacks blob sizes")
    offset = _LENGTH.size + length
    if offset + sum(sizes) != len(data):
        raise ProtocolError("blob sizes do not add up to the message length")
    blobs = []
    for size in sizes:
        blobs.append(data[offset : offset + size])
        offset += size
    return header, blobs
