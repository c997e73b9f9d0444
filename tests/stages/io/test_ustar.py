import io
import tarfile

import pytest

from stages.io import ustar


def tarfile_bytes(members: list[tuple[str, bytes]], stream: bool = False) -> bytes:
    """What the standard library writes for the same members and fixed metadata."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w|" if stream else "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), ustar.MTIME, ustar.MODE
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def written(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    ustar.write_members(buffer, members)
    return buffer.getvalue()


MEMBER_SETS = [
    [],
    [("a.txt", b"")],
    [("PMC1v1-f001-p01.jpg", b"\xff\xd8" * 700), ("PMC1v1-f001-p01.txt", "caption μm".encode()), ("PMC1v1-f001-p01.json", b"{}")],
    [(f"k{index}.bin", bytes([index]) * (511 + index)) for index in range(40)],  # sizes across block and record edges
    [("é" * 50, b"x" * 10240)],  # a name of exactly 100 bytes, a member of exactly one record
]


@pytest.mark.parametrize("members", MEMBER_SETS)
def test_the_archive_is_byte_for_byte_what_tarfile_writes(members):
    assert written(members) == tarfile_bytes(members) == tarfile_bytes(members, stream=True)


@pytest.mark.parametrize("members", MEMBER_SETS)
def test_members_read_back_in_order_and_tarfile_reads_them_too(members):
    data = written(members)
    assert list(ustar.read_members(io.BytesIO(data))) == members
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert [(info.name, tar.extractfile(info).read()) for info in tar] == members


def test_a_name_longer_than_a_ustar_name_is_refused():
    with pytest.raises(ustar.TarFormatError, match="longer than 100 bytes"):
        written([("k" * 101, b"x")])


def test_a_damaged_header_a_cut_member_and_a_link_are_named():
    data = bytearray(written([("a.txt", b"hello")]))
    data[0] = ord("b")  # the name changes, the checksum does not
    with pytest.raises(ustar.TarFormatError, match="checksum"):
        list(ustar.read_members(io.BytesIO(bytes(data))))
    with pytest.raises(ustar.TarFormatError, match="ends inside member 'a.txt'"):
        list(ustar.read_members(io.BytesIO(written([("a.txt", b"hello")])[: ustar.BLOCK + 3])))
    garbled = bytearray(written([("a.txt", b"hello")]))
    garbled[148:156] = b"nonsense"  # the checksum field itself
    with pytest.raises(ustar.TarFormatError, match="checksum is not an octal number"):
        list(ustar.read_members(io.BytesIO(bytes(garbled))))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "a.txt"
        tar.addfile(link)
    with pytest.raises(ustar.TarFormatError, match="not a regular file"):
        list(ustar.read_members(io.BytesIO(buffer.getvalue())))
