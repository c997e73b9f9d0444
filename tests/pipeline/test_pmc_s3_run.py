"""Whole runs over a real S3 endpoint (moto on loopback): same output as the local mirror, faults
recorded as drops, and incremental runs that process exactly what changed."""

import json
from pathlib import Path

import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from builders import epoch_ran_whole, train_open_clip
from s3_bucket import (
    FaultProxy,
    admin_client,
    create_public_bucket,
    md5,
    upload_corpus,
    write_inventory,
)

from pipeline import runner
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.demo_corpus import load_truth
from pipeline.manifest import verify_output
from pipeline.views import pipe_urls, view_dataset, view_index, view_samples
from schemas.keys import article_key

pytestmark = pytest.mark.slow

STAGES = "stages: {images: {max_side: 128, min_side: 48, batch_size: 4}, fetch: {batch_size: 2}}\n"


def s3_config(tmp_path: Path, endpoint: str, bucket: str, output: Path | str, extra: str = "") -> Path:
    path = tmp_path / f"{bucket}.yaml"
    output_endpoint = f", endpoint_url: '{endpoint}'" if str(output).startswith("s3://") else ""
    path.write_text(
        f"name: s3run\nsource: {{kind: pmc_s3, bucket: {bucket}, endpoint_url: '{endpoint}', "
        f"retries: {{max_attempts: 3, base_delay_s: 0.01, max_delay_s: 0.02}}{extra}}}\n"
        f"output: {{path: '{output}', articles_per_shard: 4{output_endpoint}}}\n{STAGES}"
    )
    return path


def mirror(client, url: str, dest: Path) -> Path:
    """A local copy of an s3:// output, to read in assertions."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            path = dest / item["Key"][len(prefix) + 1 :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    return dest


def index_keys(output: Path) -> list[str]:
    return sorted(pads.dataset(output / "index", format="parquet").to_table().column("sample_key").to_pylist())


def rejects(output: Path) -> set[tuple[str, str, str]]:
    table = pads.dataset(output / "rejects", format="parquet").to_table()
    return set(zip(*(table.column(c).to_pylist() for c in ("key", "stage", "reason"))))


def newest(corpus: Path) -> list[dict]:
    return [a for a in load_truth(corpus)[0] if a["newest"]]


@pytest.fixture(scope="module")
def proxy(s3_endpoint, pmc_bucket):
    proxy = FaultProxy(s3_endpoint)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def local_and_s3_runs(small_corpus, pmc_bucket, proxy, tmp_path_factory, ray_local):
    tmp = tmp_path_factory.mktemp("runs")
    articles = newest(small_corpus)
    # throttling and 5xx on a share of requests: retried within the budget, invisible in the output
    proxy.rules[f"metadata/{articles[0]['pmcid']}."] = ("slowdown", 2)
    proxy.rules[f"/{articles[1]['pmcid']}.{articles[1]['version']}/"] = ("500", 1)
    local_yaml = tmp / "local.yaml"
    local_yaml.write_text(f"name: s3run\nsource: {{kind: local, root: {small_corpus}}}\noutput: {{path: {tmp / 'local'}, articles_per_shard: 4}}\n{STAGES}")
    local_stats = runner.run(load_config(local_yaml))
    s3_stats = runner.run(load_config(s3_config(tmp, proxy.endpoint, pmc_bucket, tmp / "s3")))
    return tmp / "local", local_stats, tmp / "s3", s3_stats


def test_s3_run_gives_the_local_runs_samples_rejects_and_shards(local_and_s3_runs, proxy):
    local, local_stats, s3, s3_stats = local_and_s3_runs
    assert index_keys(s3) == index_keys(local) and len(index_keys(s3)) > 10
    assert rejects(s3) == rejects(local)
    assert {p.name: p.read_bytes() for p in (s3 / "shards").glob("*.tar")} == {p.name: p.read_bytes() for p in (local / "shards").glob("*.tar")}
    assert s3_stats["source"]["kind"] == "pmc_s3" and s3_stats["source"]["enumerate"] == "inventory"
    assert all(hits > 1 for hits in proxy.hits.values()) and len(proxy.hits) == 2  # the faults did happen
    assert proxy.signed_requests == 0


def test_consumed_lists_every_version_with_its_etag(local_and_s3_runs, small_corpus):
    _, _, s3, _ = local_and_s3_runs
    consumed = pq.read_table(s3 / "consumed.parquet").to_pylist()
    assert [(r["pmcid"], r["version"]) for r in consumed] == [(a["pmcid"], a["version"]) for a in newest(small_corpus)]
    for row in consumed:
        assert row["etag"] == md5((small_corpus / row["metadata_key"]).read_bytes()) and row["processed"]
    assert json.loads((s3 / "retracted.json").read_text()) == []


def test_faults_become_drops_and_the_rest_of_the_run_is_intact(s3_endpoint, small_corpus, local_and_s3_runs, tmp_path):
    local = local_and_s3_runs[0]
    client = admin_client(s3_endpoint)
    create_public_bucket(client, "pmc-faults")
    upload_corpus(client, "pmc-faults", small_corpus)
    live = sorted({key.split("-")[0] for key in index_keys(local)})  # articles with samples, as PMC<id>v<ver>
    lying_md5, missing_key, unreachable = live[:3]

    def rewrite(key_article: str, change) -> str:
        pmcid, version = key_article[: key_article.index("v")], key_article[key_article.index("v") + 1 :]
        key = f"metadata/{pmcid}.{version}.json"
        meta = json.loads((small_corpus / key).read_text())
        change(meta)
        client.put_object(Bucket="pmc-faults", Key=key, Body=json.dumps(meta).encode())
        return f"{pmcid}.{version}"

    rewrite(lying_md5, lambda m: m.update(xml_url=m["xml_url"].split("?")[0] + "?md5=" + "0" * 32))
    rewrite(missing_key, lambda m: m.pop("xml_url"))
    folder = rewrite(unreachable, lambda m: None)
    write_inventory(client, "pmc-faults")
    proxy = FaultProxy(s3_endpoint)
    proxy.rules[f"/{folder}/{folder}.xml"] = ("slowdown", -1)
    try:
        stats = runner.run(load_config(s3_config(tmp_path, proxy.endpoint, "pmc-faults", tmp_path / "out")))
    finally:
        proxy.close()
    out = tmp_path / "out"
    found = rejects(out)
    assert {(lying_md5, "fetch", "fetch_checksum_mismatch"), (missing_key, "fetch", "metadata_invalid"), (unreachable, "fetch", "fetch_error")} <= found
    assert proxy.hits[f"/{folder}/{folder}.xml"] == 3  # the whole retry budget, then a drop
    broken = (lying_md5, missing_key, unreachable)
    assert index_keys(out) == [k for k in index_keys(local) if not k.startswith(broken)]
    assert found - {r for r in found if r[0] in broken} == {r for r in rejects(local) if not r[0].startswith(broken)}
    assert stats["drops_by_reason"]["fetch_error"] == 1


def test_license_policy_drops_are_counted(s3_endpoint, pmc_bucket, small_corpus, tmp_path, ray_local):
    config = s3_config(tmp_path, s3_endpoint, pmc_bucket, tmp_path / "out", ", licenses: commercial, enumerate: list")
    stats = runner.run(load_config(config))
    articles = newest(small_corpus)
    noncommercial = {article_key(a["pmcid"], a["version"]) for a in articles if "NC" in a["license_code"].upper()}
    excluded = {key for key, stage, reason in rejects(tmp_path / "out") if reason == "license_excluded"}
    assert excluded == noncommercial and noncommercial
    assert stats["drops_by_reason"]["license_excluded"] == len(noncommercial)
    index = pads.dataset(tmp_path / "out" / "index", format="parquet").to_table()
    assert set(index.column("license").to_pylist()) <= {"CC0", "CC BY", "CC BY-SA", "CC BY-ND"}


def test_incremental_run_processes_exactly_what_changed(local_and_s3_runs, s3_endpoint, small_corpus, tmp_path, capsys):
    _, _, previous, _ = local_and_s3_runs
    client = admin_client(s3_endpoint)
    create_public_bucket(client, "pmc-next")
    upload_corpus(client, "pmc-next", small_corpus)
    live = sorted({key.split("-")[0] for key in index_keys(previous)})
    articles = {article_key(a["pmcid"], a["version"]): a for a in newest(small_corpus)}
    retracted, retitled, revised = (articles[k] for k in live[:3])

    def meta_key(article, version=None):
        return f"metadata/{article['pmcid']}.{version or article['version']}.json"

    def put_metadata(article, meta, version=None):
        body = json.dumps(meta).encode()
        folder = f"{article['pmcid']}.{version or article['version']}"
        client.put_object(Bucket="pmc-next", Key=meta_key(article, version), Body=body)
        client.put_object(Bucket="pmc-next", Key=f"{folder}/{folder}.json", Body=body)

    put_metadata(retracted, {**json.loads((small_corpus / meta_key(retracted)).read_text()), "is_retracted": True})
    put_metadata(retitled, {**json.loads((small_corpus / meta_key(retitled)).read_text()), "title": "A corrected title"})
    # new versions of two more articles: their files copied under the next version's keys
    revised_too = articles[live[4]]
    for article in (revised, revised_too):
        old, new = f"{article['pmcid']}.{article['version']}", f"{article['pmcid']}.{article['version'] + 1}"
        for path in (small_corpus / old).iterdir():
            client.put_object(Bucket="pmc-next", Key=f"{new}/{path.name.replace(old, new)}", Body=path.read_bytes())
        meta_text = (small_corpus / meta_key(article)).read_text().replace(f"/{old}/", f"/{new}/").replace(f"{old}.", f"{new}.")
        put_metadata(article, {**json.loads(meta_text), "version": article["version"] + 1}, article["version"] + 1)
    # new articles whose figures are those of articles of the previous run: one that the dedup's
    # priority rule ranks after the original (a higher PMCID), one that it ranks before
    def copy_article(copied, pmcid):
        old, new = f"{copied['pmcid']}.{copied['version']}", f"{pmcid}.1"
        for path in (small_corpus / old).iterdir():
            client.put_object(Bucket="pmc-next", Key=f"{new}/{path.name.replace(old, new)}", Body=path.read_bytes())
        meta = json.loads((small_corpus / meta_key(copied)).read_text().replace(f"/{old}/", f"/{new}/").replace(f"{old}.", f"{new}."))
        put_metadata({**copied, "pmcid": pmcid, "version": 1}, {**meta, "pmcid": pmcid, "version": 1})

    copied, outranked = articles[live[3]], articles[live[5]]
    copy_article(copied, "PMC9999999")
    copy_article(outranked, "PMC1")
    write_inventory(client, "pmc-next")

    # the next run writes to an s3:// output, following the local one
    client.create_bucket(Bucket="weekly")
    next_url = "s3://weekly/next"
    config = s3_config(tmp_path, s3_endpoint, "pmc-next", next_url)
    assert main(["run", str(config), "--since", str(previous)]) == 0
    capsys.readouterr()
    output = mirror(client, next_url, tmp_path / "next")
    stats = json.loads((output / "stats.json").read_text())
    assert stats["source"]["article_versions"] == 6 and stats["stages"]["fetch"]["in"] == 6
    expected = {(retracted["pmcid"], retracted["version"]), (retitled["pmcid"], retitled["version"])}
    expected |= {(article["pmcid"], article["version"] + 1) for article in (revised, revised_too)}
    keys = index_keys(output)
    # the new versions' figures are the old versions': superseded, not duplicates of them
    assert {k.split("-")[0] for k in keys} == {article_key(*v) for v in expected} | {"PMC1v1"}
    consumed = pq.read_table(output / "consumed.parquet").to_pylist()
    assert {(r["pmcid"], r["version"]) for r in consumed if r["processed"]} == expected | {("PMC9999999", 1), ("PMC1", 1)}
    # the new article's figures duplicate the previous run's samples of the article they were copied from
    copied_keys = [k for k in index_keys(previous) if k.startswith(article_key(copied["pmcid"], copied["version"]))]
    rejected = pads.dataset(output / "rejects", format="parquet").to_table().to_pylist()
    twins = [r for r in rejected if r["key"].startswith("PMC9999999v1-") and r["stage"] == "dedup"]  # its other rows fail as the original's did
    assert copied_keys and len(twins) == len(copied_keys) and {r["reason"] for r in twins} == {"duplicate_exact"}
    assert sorted(r["detail"].split()[-1] for r in twins) == copied_keys  # "same pixels as <the earlier run's key>"
    # every previous sample of the four processed articles is superseded by this run
    superseded = json.loads((output / "superseded.json").read_text())
    processed_before = {article_key(a["pmcid"], a["version"]) for a in (retracted, retitled, revised, revised_too)}
    assert {e["sample_key"] for e in superseded} == {k for k in index_keys(previous) if k.split("-")[0] in processed_before}
    assert all(e["run"] == str(previous) for e in superseded) and stats["source"]["superseded_samples"] == len(superseded)
    # the article ranked first keeps its figures; the previous run's samples of the original are displaced
    outranked_keys = [k for k in index_keys(previous) if k.startswith(article_key(outranked["pmcid"], outranked["version"]))]
    displaced = json.loads((output / "displaced.json").read_text())
    assert outranked_keys and sorted(e["sample_key"] for e in displaced) == outranked_keys and stats["source"]["displaced_samples"] == len(displaced)
    assert {e["reason"] for e in displaced} == {"duplicate_exact"} and all(e["winner_key"].startswith("PMC1v1-") and e["winner_key"] in keys for e in displaced)
    # the view over both runs (local, s3://) streams exactly the current samples, with the counts a loader sees
    view = tmp_path / "view"
    assert main(["view", "create", str(view), "--chain", next_url, "--endpoint-url", s3_endpoint]) == 0
    described = json.loads((view / "view.json").read_text())
    assert described["runs"] == [str(previous.resolve()), next_url]
    retracted_keys = {k for k in keys if k.startswith(article_key(retracted["pmcid"], retracted["version"]))}  # kept by the run, left out by the view
    current = (set(index_keys(previous)) - {e["sample_key"] for e in superseded} - set(outranked_keys)) | (set(keys) - retracted_keys)
    assert retracted_keys and described["samples"] == len(current)
    assert described["excluded"] == {"superseded": len(superseded), "duplicate_exact": len(outranked_keys), "retracted": len(retracted_keys)}
    streamed = [sample["__key__"] for sample in view_dataset(view)]
    assert sorted(streamed) == sorted(current)  # the retitled article's keys are in both runs: only the newer run's stream
    urls, excluded = view_samples(view)
    sizes = json.loads((view / "sizes.json").read_text())
    assert sum(sizes.values()) == len(streamed) and set(sizes) == set(urls) and {u.split("/shards/")[0] for u in urls} == set(described["runs"])
    # loaders that cannot skip samples read the view through pipe: URLs (current samples only, local and s3://)
    pipes = pipe_urls(view)
    assert [sample["__key__"] for sample in wds.WebDataset(pipes, shardshuffle=False)] == streamed
    assert epoch_ran_whole(train_open_clip("::".join(pipes), tmp_path / "logs", "--train-num-samples", str(described["samples"])), len(streamed))
    # the local run's shards stream with a plain webdataset loader too
    local_urls = [url for url in urls if not url.startswith("s3://")]
    local_stream = wds.WebDataset(local_urls, shardshuffle=False).select(lambda s: (s["__url__"], s["__key__"]) not in excluded)
    assert sorted(sample["__key__"] for sample in local_stream) == sorted(set(index_keys(previous)) - {e["sample_key"] for e in superseded} - set(outranked_keys))
    # the view's index as one relation: the same samples, queryable like a run's index, each row with its shard's URL
    rows = view_index(view).project("sample_key, shard").fetchall()
    assert sorted(key for key, _ in rows) == sorted(streamed) and all((shard, key) not in excluded and shard in urls for key, shard in rows)
    # the report reads the view like a run: its current samples, the exclusions, cards from local and s3:// shards
    assert main(["report", str(view)]) == 0
    html = (view / "report.html").read_text()
    assert f"<th>samples</th><td>{len(streamed)}</td>" in html and f"superseded {len(superseded)}" in html
    assert html.count('class="card"') >= 2 and "image not found in its shard" not in html
    # compacted into fresh shards: verified like a run's, the same keys in the same order
    compact = tmp_path / "compact"
    assert main(["reshard", str(view), "--to", str(compact), "--samples-per-shard", "4"]) == 0
    assert verify_output(compact) == []
    assert [s["__key__"] for s in wds.WebDataset(sorted(str(p) for p in (compact / "shards").glob("*.tar")), shardshuffle=False)] == streamed
    assert index_keys(compact) == sorted(streamed) and json.loads((compact / "manifest.json").read_text())["samples"] == len(streamed)
    # everything the previous run consumed is carried forward, so a later --since needs only this output
    before = pq.read_table(previous / "consumed.parquet").to_pylist()
    assert {(r["pmcid"], r["version"]) for r in consumed} == {(r["pmcid"], r["version"]) for r in before} | expected | {("PMC9999999", 1), ("PMC1", 1)}
    assert json.loads((output / "retracted.json").read_text()) == [{"pmcid": retracted["pmcid"], "version": retracted["version"]}]
    # nothing changed since this run: the next incremental run (local, following the s3:// one) has nothing to do
    again = tmp_path / "again"
    assert main(["run", str(config), "--output", str(again), "--since", next_url]) == 0
    assert json.loads((again / "stats.json").read_text())["source"]["article_versions"] == 0


def test_since_without_a_previous_run_is_refused(tmp_path, s3_endpoint, capsys):
    config = s3_config(tmp_path, s3_endpoint, "pmc-oa-opendata", tmp_path / "out")
    assert main(["run", str(config), "--since", str(tmp_path / "nothing")]) == 2
    assert "consumed.parquet" in capsys.readouterr().err
