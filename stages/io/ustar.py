"""Shard tars written and read member by member, without ``tarfile``'s object per member.

A shard holds three or more small members a sample. ``tarfile`` builds, copies and re-parses a
``TarInfo`` for each, which cost the unit writers more than a millisecond a figure (writing and
the read-back check together); here a header is a few byte fields. The archive is plain POSIX
ustar with fixed metadata (mode 0444, owner 0, mtime 0): the bytes ``tarfile`` writes for the same
members (a test holds that), so every tar reader reads it. The reader takes the regular members
of such an archive and refuses anything else (links, extended headers) by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

BLOCK = 512
RECORD = 20 * BLOCK  # tar pads the archive to whole records, as tarfile does
MODE = 0o444
MTIME = 0
_MAGIC = b"ustar\x0000"
_NAME_BYTES = 100
_REGULAR = b"0"


class TarFormatError(ValueError):
    """The bytes are not a ustar archive of regular members."""


def write_members(target: BinaryIO, members: Iterable[tuple[str, bytes]]) -> None:
    """``members`` (name, data) into ``target`` as one tar, ended and padded as ``tarfile`` ends it."""
    written = 0
    for name, data in members:
        target.write(header(name, len(data)))
        target.write(data)
        padding = -len(data) % BLOCK
        if padding:
            target.write(bytes(padding))
        written += BLOCK + len(data) + padding
    end = 2 * BLOCK
    target.write(bytes(end + (-(written + end) % RECORD)))


def header(name: str, size: int) -> bytes:
    """The 512-byte ustar header of a regular member with the fixed metadata."""
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > _NAME_BYTES:
        raise TarFormatError(f"member name {name!r} is longer than {_NAME_BYTES} bytes")
    fields = b"".join(
        (
            encoded.ljust(_NAME_BYTES, b"\0"),
            b"%07o\0" % MODE,
            b"%07o\0" % 0,  # uid
            b"%07o\0" % 0,  # gid
            b"%011o\0" % size,
            b"%011o\0" % MTIME,
            b" " * 8,  # the checksum, counted as spaces
            _REGULAR,
            bytes(_NAME_BYTES),  # link name
            _MAGIC,
            bytes(32 + 32 + 8 + 8 + 155),  # owner and group names, device numbers, name prefix
        )
    ).ljust(BLOCK, b"\0")
    return fields[:148] + b"%06o\0" % sum(fields) + fields[155:]


def read_members(source: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """The (name, data) of every member of a tar written by ``write_members`` (or any ustar archive
    of regular files), in order, read once through ``source``."""
    while True:
        block = _read_exactly(source, BLOCK, "a header")
        if block is None or not any(block):
            return
        name, size = _parse_header(block)
        data = _read_exactly(source, size + (-size % BLOCK), f"member {name!r}")
        if data is None:
            raise TarFormatError(f"the archive ends inside member {name!r}")
        yield name, data[:size]


def _parse_header(block: bytes) -> tuple[str, int]:
    if _octal(block[148:156], "checksum") != sum(block[:148]) + 8 * 32 + sum(block[156:]):
        raise TarFormatError("a header's checksum does not match")
    name = block[:_NAME_BYTES].split(b"\0", 1)[0]
    prefix = block[345:500].split(b"\0", 1)[0]
    text = ((prefix + b"/" if prefix else b"") + name).decode("utf-8", "surrogateescape")
    kind = block[156:157]
    if kind not in (_REGULAR, b"\0"):
        raise TarFormatError(f"member {text!r} is not a regular file (type {kind!r})")
    return text, _octal(block[124:136], f"member {text!r}'s size")


def _octal(field: bytes, what: str) -> int:
    digits = field.split(b"\0", 1)[0].strip() or b"0"
    try:
        return int(digits, 8)
    except ValueError:
        raise TarFormatError(f"a header's {what} is not an octal number: {digits!r}") from None


def _read_exactly(source: BinaryIO, size: int, what: str) -> bytes | None:
    if size == 0:
        return b""
    data = source.read(size)
    if not data:
        return None
    while len(data) < size:
        more = source.read(size - len(data))
        if not more:
            raise TarFormatError(f"the archive ends inside {what}")
        data += more
    return data
