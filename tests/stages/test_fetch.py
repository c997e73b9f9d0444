import hashlib
import json

import pytest
from builders import article_table, context, figure_row, figure_table

from stages.fetch import Fetch, FetchSpec
from stages.fetch_media.stage import FetchMedia, FetchMediaSpec


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_article(root, xml: bytes, *, xml_md5=None, metadata_override=None, media=()):
    folder = root / "PMC1.1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "PMC1.1.xml").write_bytes(xml)
    urls = []
    for name, data in media:
        (folder / name).write_bytes(data)
        urls.append(f"s3://pmc-oa-opendata/PMC1.1/{name}?md5={md5(data)}")
    meta = {
        "pmcid": "PMC1",
        "version": 1,
        "pmid": 123,
        "doi": "10.1/x",
        "title": "T",
        "license_code": "cc-by-nc",
        "is_manuscript": False,
        "is_retracted": False,
        "xml_url": f"s3://pmc-oa-opendata/PMC1.1/PMC1.1.xml?md5={xml_md5 or md5(xml)}",
        "media_urls": urls,
        **(metadata_override or {}),
    }
    (root / "metadata").mkdir(exist_ok=True)
    (root / "metadata" / "PMC1.1.json").write_text(json.dumps(meta))


def fetch(root, **spec):
    (row,) = Fetch(FetchSpec(**spec), context(root))(article_table()).to_pylist()
    return row


def test_fetch_reads_metadata_xml_and_media_list(tmp_path):
    write_article(tmp_path, b"<article/>", media=[("a.g001.jpg", b"jpgbytes")])
    row = fetch(tmp_path)
    assert row["drop_reason"] is None
    assert row["xml_bytes"] == b"<article/>"
    assert (row["license"], row["license_raw"], row["pmid"]) == ("CC BY-NC", "cc-by-nc", "123")
    assert row["license_source"] == "metadata_json"
    assert row["media"] == [{"name": "a.g001.jpg", "key": "PMC1.1/a.g001.jpg", "md5": md5(b"jpgbytes")}]


def test_xml_checksum_mismatch_is_dropped_unless_verification_is_off(tmp_path):
    write_article(tmp_path, b"<article/>", xml_md5="0" * 32)
    row = fetch(tmp_path)
    assert row["drop_reason"] == "fetch_checksum_mismatch"
    assert "PMC1.1/PMC1.1.xml" in row["drop_detail"]
    assert fetch(tmp_path, verify_md5=False)["drop_reason"] is None


@pytest.mark.parametrize(
    "override, reason",
    [({"xml_url": "s3://pmc-oa-opendata/PMC1.1/gone.xml"}, "fetch_not_found"), ({"xml_url": None}, "metadata_invalid")],
)
def test_missing_xml_and_bad_metadata(tmp_path, override, reason):
    write_article(tmp_path, b"<article/>", metadata_override=override)
    assert fetch(tmp_path)["drop_reason"] == reason


def test_metadata_not_json_and_missing_metadata(tmp_path):
    assert fetch(tmp_path)["drop_reason"] == "fetch_not_found"
    write_article(tmp_path, b"<article/>")
    (tmp_path / "metadata" / "PMC1.1.json").write_text("{not json")
    assert fetch(tmp_path)["drop_reason"] == "metadata_invalid"


def test_size_cap(tmp_path):
    write_article(tmp_path, b"<article>" + b" " * 5000 + b"</article>")
    ctx = context(tmp_path).model_copy(update={"max_object_bytes": 1000})
    (row,) = Fetch(FetchSpec(), ctx)(article_table()).to_pylist()
    assert row["drop_reason"] == "fetch_too_large"


def test_fetch_media_verifies_and_reports_missing(tmp_path):
    (tmp_path / "PMC1.1").mkdir()
    (tmp_path / "PMC1.1" / "ok.jpg").write_bytes(b"good")
    (tmp_path / "PMC1.1" / "bad.jpg").write_bytes(b"tampered")
    rows = [
        figure_row(1, media_key="PMC1.1/ok.jpg", media_md5=md5(b"good")),
        figure_row(2, media_key="PMC1.1/bad.jpg", media_md5=md5(b"original")),
        figure_row(3, media_key="PMC1.1/absent.jpg", media_md5=None),
        figure_row(4, media_key="../../etc/passwd", media_md5=None),
    ]
    out = {r["figure_index"]: r for r in FetchMedia(FetchMediaSpec(), context(tmp_path))(figure_table(rows)).to_pylist()}
    assert out[1]["media_bytes"] == b"good" and out[1]["drop_reason"] is None
    assert out[2]["drop_reason"] == "fetch_checksum_mismatch"
    assert out[3]["drop_reason"] == "fetch_not_found"
    assert out[4]["drop_reason"] == "fetch_not_found"
