"""A real run with subfigures and subcaptions enabled: panel samples checked against the generator's truth."""

import io
import json

import pyarrow.dataset as pads
import pytest
import webdataset as wds
from PIL import Image

from pipeline import runner
from pipeline.config import load_config
from pipeline.demo_corpus import generate_corpus, load_truth
from schemas.keys import sample_key
from stages.subfigures.split import iou

pytestmark = pytest.mark.slow


def run_with_panels(root, articles: int, name: str, extra_stages: str = ""):
    """A corpus of ``articles`` generated under ``root`` and a run over it with the panel stages on."""
    corpus, output, config_path = root / "corpus", root / "out", root / "run.yaml"
    generate_corpus(corpus, articles=articles, seed=5)
    config_path.write_text(
        f"name: {name}\nsource: {{kind: local, root: {corpus}}}\noutput: {{path: {output}, articles_per_shard: 5}}\n"
        f"stages: {{images: {{max_side: 768, batch_size: 4}}{extra_stages}}}\n"
    )
    return corpus, output, runner.run(load_config(config_path))


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory, ray_local):
    corpus, output, stats = run_with_panels(tmp_path_factory.mktemp("panels"), 10, "panels")
    _, figures = load_truth(corpus)
    truth = {sample_key(f["pmcid"], f["version"], f["figure_index"]): f for f in figures if f["newest"] and not f["expected_drop"]}
    return output, stats, truth


def test_panel_samples_match_truth_boxes(panel_run):
    output, stats, truth = panel_run
    index = pads.dataset(output / "index", format="parquet").to_table().to_pylist()
    by_figure: dict[str, list[dict]] = {}
    for row in index:
        by_figure.setdefault(sample_key(row["pmcid"], row["version"], row["figure_index"]), []).append(row)
    assert set(by_figure) <= set(truth)
    split_compound = 0
    for key, rows in by_figure.items():
        figure = truth[key]
        if rows[0]["panel_index"] is None:
            assert len(rows) == 1 and rows[0]["alignment"] in ("single", "none")
            assert figure["compound"] == (rows[0]["alignment"] == "none")
            continue
        split_compound += 1
        rows.sort(key=lambda r: r["panel_index"])
        assert [r["panel_label"] for r in rows] == [p["label"] for p in figure["panels"]]
        for row, panel in zip(rows, figure["panels"]):
            assert iou(tuple(row["panel_box"]), tuple(panel["box"])) > 0.7, (key, row["panel_index"])
            assert row["sample_key"] == f"{key}-p{row['panel_index']:02d}"
    compound = sum(1 for key in by_figure if truth[key]["compound"])
    assert compound >= 5 and split_compound >= 0.8 * compound
    assert stats["stages"]["subcaptions"]["unit"] == "panel"
    assert stats["stages"]["subcaptions"]["out"] == len(index) == stats["samples"]


def test_panel_shards_carry_subcaption_text_and_panel_metadata(panel_run):
    output, _, truth = panel_run
    panels = 0
    for sample in wds.WebDataset(sorted(str(p) for p in (output / "shards").glob("*.tar")), shardshuffle=False):
        meta = json.loads(sample["json"])
        text = sample["txt"].decode()
        if meta["panel_index"] is None:
            assert text == meta["caption"]
            continue
        panels += 1
        assert text == meta["panel"]["subcaption"] and text != meta["caption"]
        assert meta["panel"]["alignment"] == "label_order" and len(meta["panel"]["box"]) == 4
        x0, y0, x1, y1 = meta["panel"]["box"]
        image = Image.open(io.BytesIO(sample["jpg"]))
        assert abs(image.width / image.height - (x1 - x0) / (y1 - y0)) < 0.1
    assert panels > 10


def test_emit_both_writes_whole_figures_beside_their_panels(tmp_path, ray_local):
    _, output, _ = run_with_panels(tmp_path, 4, "both", ", subcaptions: {emit: both}")
    index = pads.dataset(output / "index", format="parquet").to_table().to_pylist()
    by_parent: dict[str, list[dict]] = {}
    for row in index:
        by_parent.setdefault(row["parent_key"], []).append(row)
    split = [rows for rows in by_parent.values() if any(r["panel_index"] is not None for r in rows)]
    assert split, "no compound figure was split"
    for rows in split:
        whole = [r for r in rows if r["panel_index"] is None]
        assert len(whole) == 1 and whole[0]["sample_key"] == whole[0]["parent_key"]
        assert whole[0]["alignment"] == "label_order" and whole[0]["panel_box"] is None
        panels = [r for r in rows if r["panel_index"] is not None]
        assert len(panels) >= 2 and all(len(p["panel_box"]) == 4 and p["caption"] == whole[0]["caption"] for p in panels)
        assert all(p["sample_key"].startswith(p["parent_key"] + "-p") for p in panels)
    assert len({r["sample_key"] for r in index}) == len(index)
