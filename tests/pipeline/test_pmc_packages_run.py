"""A whole run over a mirror of old PMC packages gives the samples of a local run on the same articles."""

import tarfile
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from pipeline import runner
from pipeline.config import load_config
from pipeline.demo_corpus import load_truth
from schemas.keys import sample_key

pytestmark = pytest.mark.slow

STAGES = (
    "stages: {images: {max_side: 128, min_side: 48, batch_size: 4}, fetch: {batch_size: 2},"
    " subfigures: {enabled: false}, subcaptions: {enabled: false}}\n"
)


def build_packages(corpus: Path, root: Path) -> list[dict]:
    """``oa_package/xx/yy/PMC<id>.tar.gz`` for every article whose newest version is 1: one folder
    holding the XML as ``.nxml`` and the media files, as PMC's FTP packages were laid out."""
    articles = [a for a in load_truth(corpus)[0] if a["newest"] and a["version"] == 1]
    for number, article in enumerate(articles):
        folder = corpus / f"{article['pmcid']}.1"
        target = root / "oa_package" / f"{number % 3:02x}" / f"{number:02x}" / f"{article['pmcid']}.tar.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w:gz") as tar:
            for path in sorted(folder.iterdir()):
                if path.suffix == ".xml":
                    tar.add(path, f"{article['pmcid']}/{path.stem}.nxml")
                elif path.suffix in (".jpg", ".gif"):
                    tar.add(path, f"{article['pmcid']}/{path.name}")
    return articles


def samples(output: Path) -> dict[str, str]:
    """Sample key -> the caption text of its ``.txt`` member, read from the shards."""
    found = {}
    for shard in sorted((output / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for info in tar:
                if info.name.endswith(".txt"):
                    found[info.name.split(".", 1)[0]] = tar.extractfile(info).read().decode()
    return found


def rejects(output: Path) -> set[tuple[str, str, str]]:
    table = pads.dataset(output / "rejects", format="parquet").to_table()
    return set(zip(*(table.column(c).to_pylist() for c in ("key", "stage", "reason"))))


def test_package_run_gives_the_local_runs_samples(small_corpus, tmp_path, ray_local):
    articles = build_packages(small_corpus, tmp_path / "mirror")
    pmcids = {a["pmcid"] for a in articles}
    (tmp_path / "local.yaml").write_text(
        f"name: pkg\nsource: {{kind: local, root: {small_corpus}}}\noutput: {{path: {tmp_path / 'local'}, articles_per_shard: 4}}\n{STAGES}"
    )
    (tmp_path / "packages.yaml").write_text(
        f"name: pkg\nsource: {{kind: pmc_packages, root: {tmp_path / 'mirror'}}}\n"
        f"output: {{path: {tmp_path / 'packages'}, articles_per_shard: 4}}\n{STAGES}"
    )
    runner.run(load_config(tmp_path / "local.yaml"))
    stats = runner.run(load_config(tmp_path / "packages.yaml"))

    assert stats["source"] == {**stats["source"], "kind": "pmc_packages", "article_versions": len(articles)}
    local = {key: text for key, text in samples(tmp_path / "local").items() if key.split("v")[0] in pmcids}
    # Packages carry no md5, so a figure whose metadata md5 is wrong is a sample there, nothing else differs.
    unverifiable = {
        sample_key(f["pmcid"], f["version"], f["figure_index"])
        for f in load_truth(small_corpus)[1]
        if f["pmcid"] in pmcids and (f["expected_drop"] or {}).get("reason") == "fetch_checksum_mismatch"
    }
    packaged = samples(tmp_path / "packages")
    assert len(local) > 10 and unverifiable
    assert {k: v for k, v in packaged.items() if k not in unverifiable} == local
    assert unverifiable <= set(packaged)
    local_rejects = {r for r in rejects(tmp_path / "local") if r[0].split("v")[0] in pmcids and r[0] not in unverifiable}
    # fetch parses a package's XML for its metadata, so a malformed XML is rejected there, not in parse_jats
    moved = {(key, "fetch" if reason == "xml_malformed" else stage, reason) for key, stage, reason in local_rejects}
    assert rejects(tmp_path / "packages") == moved and any(r[2] == "xml_malformed" for r in moved)
