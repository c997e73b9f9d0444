"""Enumerating the bucket (inventory and listings) and fetching from it, on a real S3 endpoint."""

import json

import pyarrow as pa
import pytest
from builders import article_table
from s3_bucket import (
    REALDATA,
    admin_client,
    create_public_bucket,
    put_version,
    upload_realdata,
    write_inventory,
)

from schemas.records import ARTICLE
from stages.fetch import Fetch, FetchSpec
from stages.fetch_media.stage import FetchMedia, FetchMediaSpec
from stages.io.s3_store import S3Store
from stages.io.source_local import ArticleVersion, SourceError, list_article_versions
from stages.io.source_s3 import list_pmc_versions, parse_pmcid
from stages.parse_jats.stage import ParseJats, ParseJatsSpec
from stages.runtime.context import ArticleSelection, StageContext


def s3(endpoint, bucket="pmc-oa-opendata", **kwargs):
    return S3Store(bucket, endpoint_url=endpoint, **kwargs)


def listing(endpoint, method="list", bucket="pmc-oa-opendata", **kwargs):
    return list_pmc_versions(s3(endpoint, bucket, page_size=4), bucket=bucket, method=method, **kwargs)


def s3_context(endpoint, bucket="pmc-oa-opendata", **kwargs):
    return StageContext(source_kind="pmc_s3", bucket=bucket, endpoint_url=endpoint, retry_base_delay_s=0.01, **kwargs)


def test_inventory_and_listing_enumerate_exactly_the_local_mirror(s3_endpoint, pmc_bucket, small_corpus):
    for newest_only in (True, False):
        local = [v.prefix for v in list_article_versions(small_corpus, newest_only=newest_only)]
        assert [v.prefix for v in listing(s3_endpoint, "inventory", newest_only=newest_only)] == local
        assert [v.prefix for v in listing(s3_endpoint, "list", newest_only=newest_only)] == local
    assert any(v.version == 2 for v in listing(s3_endpoint, newest_only=True))
    by_inventory = {v.prefix: (v.etag, v.last_modified[:19]) for v in listing(s3_endpoint, "inventory")}
    by_listing = {v.prefix: (v.etag, v.last_modified[:19]) for v in listing(s3_endpoint, "list")}
    assert by_inventory == by_listing and all(len(etag) == 32 for etag, _ in by_listing.values())
    # a local mirror reports the same ETags as the bucket, so --since agrees between them
    local_etags = {v.prefix: v.etag for v in list_article_versions(small_corpus)}
    assert local_etags == {prefix: etag for prefix, (etag, _) in by_listing.items()}


def test_newest_inventory_with_a_manifest_wins(s3_endpoint):
    client = admin_client(s3_endpoint)
    create_public_bucket(client, "inv-test")
    client.put_object(Bucket="inv-test", Key="metadata/PMC5.1.json", Body=b"{}")
    write_inventory(client, "inv-test", stamp="2026-05-01T01-00Z")
    client.put_object(Bucket="inv-test", Key="metadata/PMC7.1.json", Body=b"{}")
    client.put_object(Bucket="inv-test", Key="metadata/PMC5.2.json", Body=b"{}")
    write_inventory(client, "inv-test", stamp="2026-05-02T01-00Z", files=3)
    # a report still being written (no manifest yet) and a folder that is not a report are ignored
    client.put_object(Bucket="inv-test", Key="inventory-reports/inv-test/metadata/2026-05-03T01-00Z/partial", Body=b"")
    client.put_object(Bucket="inv-test", Key="inventory-reports/inv-test/metadata/hive/x", Body=b"")
    found = listing(s3_endpoint, "inventory", bucket="inv-test", newest_only=False)
    assert [v.prefix for v in found] == ["PMC5.1", "PMC5.2", "PMC7.1"]


def test_inventory_errors_are_source_errors(s3_endpoint):
    client = admin_client(s3_endpoint)
    create_public_bucket(client, "no-inv")
    with pytest.raises(SourceError, match="no inventory manifest"):
        listing(s3_endpoint, "inventory", bucket="no-inv")
    manifest = write_inventory(client, "no-inv")
    body = json.loads(client.get_object(Bucket="no-inv", Key=manifest)["Body"].read())
    body["files"][0]["MD5checksum"] = "0" * 32
    client.put_object(Bucket="no-inv", Key=manifest, Body=json.dumps(body).encode())
    with pytest.raises(SourceError, match="does not match the manifest"):
        listing(s3_endpoint, "inventory", bucket="no-inv")


def test_id_list_and_prefix_select_by_listing(s3_endpoint, pmc_bucket, small_corpus):
    everything = listing(s3_endpoint, newest_only=False)
    numbers = sorted({v.pmc_number for v in everything})
    wanted = [numbers[3], numbers[0], numbers[3]]
    found = listing(s3_endpoint, pmc_numbers=wanted, newest_only=False)
    assert [v.prefix for v in found] == [v.prefix for v in everything if v.pmc_number in set(wanted)]
    # a listing per id with the trailing dot: PMC<id> never matches PMC<id><more digits>
    assert listing(s3_endpoint, pmc_numbers=[numbers[0] // 10]) == []
    assert [v.prefix for v in listing(s3_endpoint, prefix=f"PMC{numbers[1]}.")] == [f"PMC{numbers[1]}.1"]
    assert len(listing(s3_endpoint, max_articles=3)) == 3
    assert [v.prefix for v in listing(s3_endpoint, "inventory", pmc_numbers=wanted, newest_only=False)] == [v.prefix for v in found]


@pytest.mark.parametrize("text,number", [("PMC123", 123), ("pmc7", 7), (" 42 ", 42)])
def test_pmcids_with_or_without_prefix(text, number):
    assert parse_pmcid(text) == number


def test_pmcid_rejects_garbage():
    with pytest.raises(ValueError):
        parse_pmcid("PMCx1")


def metadata_of(corpus, prefix):
    return json.loads((corpus / "metadata" / f"{prefix}.json").read_text())


def test_fetch_from_s3_matches_fetch_from_the_mirror(s3_endpoint, pmc_bucket, small_corpus):
    versions = list_article_versions(small_corpus)
    table = article_table(pmcid=versions[0].pmcid, version=versions[0].version, source_prefix=versions[0].prefix)
    from_s3 = Fetch(FetchSpec(), s3_context(s3_endpoint))(table).to_pylist()
    from_disk = Fetch(FetchSpec(), StageContext(source_root=str(small_corpus)))(table).to_pylist()
    assert from_s3 == from_disk and from_s3[0]["drop_reason"] is None


@pytest.mark.parametrize(
    "selection,reason",
    [
        (ArticleSelection(licenses=("CC BY-NC",)), "license_excluded"),
        (ArticleSelection(exclude_retracted=True), "retracted_excluded"),
        (ArticleSelection(exclude_manuscripts=True), "manuscript_excluded"),
        (ArticleSelection(exclude_historical_ocr=True), "historical_ocr_excluded"),
    ],
)
def test_selection_by_metadata_is_a_recorded_drop(s3_endpoint, selection, reason):
    client = admin_client(s3_endpoint)
    bucket = "select-" + reason.replace("_", "-")
    create_public_bucket(client, bucket)
    flags = {"is_retracted": True, "is_manuscript": True, "is_historical_ocr": True}
    put_version(client, bucket, 1, 1, b"<article/>", {}, "cc-by", **flags)
    put_version(client, bucket, 2, 1, b"<article/>", {}, "CC BY-NC")
    rows = Fetch(FetchSpec(), s3_context(s3_endpoint, bucket, selection=selection))(_two_articles()).to_pylist()
    assert rows[0]["drop_reason"] == reason and rows[0]["xml_bytes"] is None
    assert rows[1]["drop_reason"] is None and rows[1]["license"] == "CC BY-NC"


def _two_articles():
    return _versions_table([ArticleVersion(1, 1), ArticleVersion(2, 1)])


realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is not present")


@realdata
def test_real_articles_flow_through_enumeration_fetch_and_parse(s3_endpoint):
    client = admin_client(s3_endpoint)
    create_public_bucket(client, "real-pmc")
    numbers = upload_realdata(client, "real-pmc")
    write_inventory(client, "real-pmc")
    found = listing(s3_endpoint, "inventory", bucket="real-pmc")
    assert [v.pmc_number for v in found] == sorted(numbers)
    assert listing(s3_endpoint, bucket="real-pmc", pmc_numbers=[12419688, 10802347]) == [found[0], found[2]]

    context = s3_context(s3_endpoint, "real-pmc", selection=ArticleSelection(licenses=("CC BY", "CC BY-NC-ND")))
    table = _versions_table(found)
    fetched = Fetch(FetchSpec(), context)(table)
    by_id = {row["pmcid"]: row for row in fetched.to_pylist()}
    assert by_id["PMC11518443"]["drop_reason"] == "license_excluded"  # CC BY-NC, not in the allowlist
    assert by_id["PMC12419688"]["drop_reason"] is None
    assert by_id["PMC12419688"]["xml_bytes"] == (REALDATA / "stencila/extracted/PMC12419688/koaf197.nxml").read_bytes()

    figures = FetchMedia(FetchMediaSpec(), context)(ParseJats(ParseJatsSpec(), context)(fetched)).to_pylist()
    live = {(r["pmcid"], r["label"]): r for r in figures if r["drop_reason"] is None and r["figure_index"] is not None}
    koaf = live[("PMC12419688", "Figure.")]
    assert koaf["media_key"] == "PMC12419688.1/koaf197f1.jpg"
    assert koaf["media_bytes"] == (REALDATA / "stencila/extracted/PMC12419688/koaf197f1.jpg").read_bytes()
    # PMC10802347's copy lacks Figure 1's full-size JPG: that figure is a recorded drop, never the .gif thumbnail
    nihpp = {r["label"]: r for r in figures if r["pmcid"] == "PMC10802347"}
    assert nihpp["Figure 1."]["drop_reason"] == "fetch_not_found"
    assert all(nihpp[f"Figure {n}."]["media_bytes"][:3] == b"\xff\xd8\xff" for n in (2, 3, 4))


def _versions_table(versions):
    rows = [{"pmcid": v.pmcid, "version": v.version, "work_unit": 0, "source_prefix": v.prefix} for v in versions]
    return pa.Table.from_pylist(rows, schema=ARTICLE)
