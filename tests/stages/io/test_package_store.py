"""Packages streamed safely: hostile tars built here become drops, healthy neighbours are unharmed."""

import io
import tarfile
from pathlib import Path

import pyarrow as pa
import pytest
from builders import fig, identity, image_bytes, jats

from schemas.records import ARTICLE
from stages.fetch import Fetch, FetchSpec
from stages.fetch_media.stage import FetchMedia
from stages.io.package_store import (
    PackageLimits,
    PackageStore,
    find_packages,
    stream_package,
)
from stages.parse_jats.stage import ParseJats, ParseJatsSpec
from stages.runtime.context import StageContext

MiB = 1024 * 1024


def member(name: str, data: bytes = b"x", **attrs) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    if info.type != tarfile.REGTYPE:
        info.size = 0
    return info, (data if info.type == tarfile.REGTYPE else None)


def write_package(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def article_xml(number: int, figures: int = 1) -> bytes:
    floats = "".join(fig(f"F{i}", f"Figure {i}", f"<p>Caption {i} of PMC{number}.</p>", f"pkg.g00{i}") for i in range(1, figures + 1))
    license = '<permissions><license><ali:license_ref xmlns:ali="http://www.niso.org/schemas/ali/1.0/">https://creativecommons.org/licenses/by-nc/4.0/</ali:license_ref></license></permissions>'
    xml = jats(floats=f"<floats-group>{floats}</floats-group>").replace(b"<article-id pub-id-type=\"pmcid\">PMC1</article-id>", f'<article-id pub-id-type="pmc">{number}</article-id>{license}'.encode())
    return xml


def healthy_members(number: int, figures: int = 1) -> list:
    folder = f"PMC{number}"
    out = [member(f"{folder}/", type=tarfile.DIRTYPE), member(f"{folder}/pkg.nxml", article_xml(number, figures))]
    for i in range(1, figures + 1):
        out += [member(f"{folder}/pkg.g00{i}.jpg", figure_jpeg(i)), member(f"{folder}/pkg.g00{i}.gif", image_bytes((20, 12), fmt="GIF"))]
    return out + [member(f"{folder}/pkg.pdf", b"%PDF-1.4 " + b"0" * 1000)]


def figure_jpeg(index: int) -> bytes:
    return image_bytes((200 + 10 * index, 120))


def context(root: Path, **caps) -> StageContext:
    return StageContext(source_kind="pmc_packages", source_root=str(root), **caps)


def articles(*numbers: int) -> pa.Table:
    return pa.Table.from_pylist([identity(f"PMC{n}") for n in numbers], schema=ARTICLE)


def run_fetch(root: Path, *numbers: int, **caps) -> dict[str, dict]:
    rows = Fetch(FetchSpec(), context(root, **caps))(articles(*numbers)).to_pylist()
    return {row["pmcid"]: row for row in rows}


def run_article(root: Path, number: int, **caps) -> list[dict]:
    """fetch -> parse_jats -> fetch_media for one package; the figure rows (or the article's drop)."""
    ctx = context(root, **caps)
    table = Fetch(FetchSpec(), ctx)(articles(number))
    table = ParseJats(ParseJatsSpec(), ctx)(table)
    return FetchMedia(FetchSpec(), ctx)(table).to_pylist()


HOSTILE = {
    "absolute": (lambda: [member("/etc/passwd", b"root")], "package_unsafe", "/etc/passwd"),
    "dotdot": (lambda: [member("PMC2/../../escape.jpg", b"x")], "package_unsafe", "../../escape.jpg"),
    "symlink": (lambda: [member("PMC2/link.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd")], "package_unsafe", "link.jpg"),
    "hardlink": (lambda: [member("PMC2/hard.jpg", type=tarfile.LNKTYPE, linkname="PMC2/pkg.nxml")], "package_unsafe", "hard.jpg"),
    "device": (lambda: [member("PMC2/dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)], "package_unsafe", "PMC2/dev"),
    "fifo": (lambda: [member("PMC2/pipe", type=tarfile.FIFOTYPE)], "package_unsafe", "PMC2/pipe"),
    "too_many_members": (lambda: [member(f"PMC2/m{i}.txt") for i in range(30)], "package_too_large", "more than 20 members"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_member_drops_its_package_and_not_its_neighbours(tmp_path, kind):
    build, reason, detail = HOSTILE[kind]
    write_package(tmp_path / "oa_package" / "00" / "01" / "PMC1.tar.gz", healthy_members(1))
    # the hostile member comes after a healthy .nxml, so the check cannot rely on reading order
    write_package(tmp_path / "oa_package" / "00" / "02" / "PMC2.tar.gz", healthy_members(2)[:2] + build())
    write_package(tmp_path / "oa_package" / "00" / "03" / "PMC3.tar.gz", healthy_members(3))
    rows = run_fetch(tmp_path, 1, 2, 3, package_max_members=20)
    assert (rows["PMC2"]["drop_stage"], rows["PMC2"]["drop_reason"]) == ("fetch", reason)
    assert detail in rows["PMC2"]["drop_detail"]
    for pmcid in ("PMC1", "PMC3"):
        assert rows[pmcid]["drop_reason"] is None and rows[pmcid]["xml_bytes"].startswith(b"<?xml")
    assert not (tmp_path / "escape.jpg").exists() and not (tmp_path.parent / "escape.jpg").exists()


def test_gzip_bomb_stops_at_the_byte_cap_without_reading_it(tmp_path):
    bomb = tmp_path / "PMC5.tar.gz"
    with tarfile.open(bomb, "w:gz", compresslevel=1) as tar:
        tar.addfile(member("PMC5/pkg.nxml", article_xml(5))[0], io.BytesIO(article_xml(5)))
        info = tarfile.TarInfo("PMC5/zeros.jpg")
        info.size = 200 * MiB
        tar.addfile(info, _Zeros(info.size))
    assert bomb.stat().st_size < 2 * MiB
    write_package(tmp_path / "PMC6.tar.gz", healthy_members(6))
    rows = run_fetch(tmp_path, 5, 6, package_max_bytes=10 * MiB)
    assert rows["PMC5"]["drop_reason"] == "package_too_large" and "zeros.jpg" in rows["PMC5"]["drop_detail"]
    assert rows["PMC6"]["drop_reason"] is None


def test_member_over_the_object_cap_is_too_large_but_listed(tmp_path):
    members = healthy_members(7)
    members[2] = member("PMC7/pkg.g001.jpg", b"\xff" * 5000)
    write_package(tmp_path / "PMC7.tar.gz", members)
    (row,) = run_article(tmp_path, 7, max_object_bytes=4000)
    assert (row["drop_stage"], row["drop_reason"]) == ("fetch_media", "fetch_too_large")


def test_many_small_members_over_the_byte_cap(tmp_path):
    write_package(tmp_path / "PMC8.tar.gz", [member(f"PMC8/m{i}.jpg", b"\0" * 4096) for i in range(50)])
    assert run_fetch(tmp_path, 8, package_max_bytes=100_000)["PMC8"]["drop_reason"] == "package_too_large"


def test_truncated_package_keeps_members_before_the_cut(tmp_path):
    whole = write_package(tmp_path / "whole" / "PMC9.tar.gz", healthy_members(9, figures=2))
    data = whole.read_bytes()
    scan = stream_package(whole, PackageLimits(), lambda *_: False)
    assert scan.members == ["pkg.nxml", "pkg.g001.jpg", "pkg.g001.gif", "pkg.g002.jpg", "pkg.g002.gif", "pkg.pdf"]
    # cut inside figure 2's jpg: figure 1 still works, figure 2 is a recorded drop
    for cut in range(len(data) // 2, len(data), 25):
        (tmp_path / "PMC9.tar.gz").write_bytes(data[:cut])
        members = stream_package(tmp_path / "PMC9.tar.gz", PackageLimits(), lambda *_: False).members
        if members == ["pkg.nxml", "pkg.g001.jpg", "pkg.g001.gif"]:
            break
    else:
        pytest.fail("no cut point inside figure 2")
    rows = run_article(tmp_path, 9)
    assert [(r["figure_index"], r["drop_reason"]) for r in rows] == [(1, None), (2, "package_corrupt")]
    assert "cut short" in rows[1]["drop_detail"]


def test_not_a_gzip_and_a_missing_package(tmp_path):
    (tmp_path / "PMC10.tar.gz").write_bytes(b"this is not gzip at all")
    write_package(tmp_path / "PMC11.tar.gz", healthy_members(11))
    rows = run_fetch(tmp_path, 10, 11, 12)
    assert rows["PMC10"]["drop_reason"] == "package_corrupt"
    assert rows["PMC11"]["drop_reason"] is None
    assert rows["PMC12"]["drop_reason"] == "fetch_not_found"


def test_metadata_comes_from_the_xml_and_media_from_the_members(tmp_path):
    write_package(tmp_path / "PMC13.tar.gz", healthy_members(13, figures=2))
    row = run_fetch(tmp_path, 13)["PMC13"]
    assert (row["license"], row["license_raw"]) == ("CC BY-NC", "https://creativecommons.org/licenses/by-nc/4.0/")
    assert row["license_source"] == "license_ref"
    assert row["xml_key"] == "PMC13.1/pkg.nxml"
    assert {m["name"] for m in row["media"]} == {"pkg.g001.jpg", "pkg.g001.gif", "pkg.g002.jpg", "pkg.g002.gif", "pkg.pdf"}
    assert all(m["md5"] is None and m["key"] == f"PMC13.1/{m['name']}" for m in row["media"])
    figures = run_article(tmp_path, 13)
    assert [(r["media_key"], r["drop_reason"]) for r in figures] == [("PMC13.1/pkg.g001.jpg", None), ("PMC13.1/pkg.g002.jpg", None)]
    assert [r["media_bytes"] for r in figures] == [figure_jpeg(1), figure_jpeg(2)]


def test_license_policy_applies_to_packages(tmp_path):
    write_package(tmp_path / "PMC14.tar.gz", healthy_members(14))
    ctx = context(tmp_path).model_copy(update={"selection": context(tmp_path).selection.model_copy(update={"licenses": ("CC BY",)})})
    (row,) = Fetch(FetchSpec(), ctx)(articles(14)).to_pylist()
    assert row["drop_reason"] == "license_excluded" and "CC BY-NC" in row["drop_detail"]


def test_xml_of_another_article_is_refused(tmp_path):
    members = healthy_members(15)
    members[1] = member("PMC15/pkg.nxml", article_xml(99))
    write_package(tmp_path / "PMC15.tar.gz", members)
    assert run_fetch(tmp_path, 15)["PMC15"]["drop_reason"] == "metadata_invalid"


def test_figures_of_one_package_are_read_in_one_pass(tmp_path, monkeypatch):
    import stages.io.package_store as package_store

    write_package(tmp_path / "PMC16.tar.gz", healthy_members(16, figures=3))
    passes = []
    real = package_store.stream_package
    monkeypatch.setattr(package_store, "stream_package", lambda *a, **k: passes.append(a[0]) or real(*a, **k))
    store = PackageStore(tmp_path)
    assert [store.read(f"PMC16.1/pkg.g00{i}.jpg") for i in (1, 2, 3)] == [figure_jpeg(i) for i in (1, 2, 3)]
    with pytest.raises(Exception, match="PMC16.1/absent.jpg"):
        store.read("PMC16.1/absent.jpg")
    assert len(passes) == 1


def test_find_packages_orders_by_number_and_ignores_other_files(tmp_path):
    for rel in ("b/PMC20.tar.gz", "a/PMC3.tar.gz", "a/PMC20.tar.gz", "PMC100.tar", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = find_packages(tmp_path)
    assert list(sorted(found)) == [3, 20] and found[20] == tmp_path / "a" / "PMC20.tar.gz"


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced on demand (the bomb is never held in memory)."""

    def __init__(self, size: int):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n



def test_huge_pax_header_hits_the_stream_cap(tmp_path):
    # a 1 MB member name travels in a pax header, which tarfile reads whole: the stream cap stops it
    info = tarfile.TarInfo("PMC17/" + "a" * MiB + ".jpg")
    path = tmp_path / "PMC17.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(member("PMC17/pkg.nxml", article_xml(17))[0], io.BytesIO(article_xml(17)))
        tar.addfile(info, io.BytesIO(b""))
    row = run_fetch(tmp_path, 17, package_max_bytes=100_000, package_max_members=10)["PMC17"]
    assert row["drop_reason"] == "package_too_large" and "uncompressed bytes" in row["drop_detail"]
