"""`figcurate report` on a real run (the session's run_output fixture) and on edited copies of it."""

import base64
import io
import re
import shutil
from html.parser import HTMLParser

import pyarrow.parquet as pq
import pytest
from builders import image_bytes
from PIL import Image

from pipeline.cli import main
from pipeline.report import build_report
from pipeline.report.build import REJECTS_PER_REASON
from pipeline.report.gallery import sample_card
from pipeline.report.page import figure_with_boxes
from pipeline.report.run_output import RunOutput, load_run_output

pytestmark = pytest.mark.slow

GALLERY = 6


class Elements(HTMLParser):
    """Every start tag of a document with its attributes, as the browser's tokenizer sees them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


def write_report(output, destination, *extra: str) -> str:
    assert main(["report", str(output), "--output", str(destination), "--gallery", str(GALLERY), *extra]) == 0
    return destination.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def report(run_output, tmp_path_factory):
    output, stats, _ = run_output
    return write_report(output, tmp_path_factory.mktemp("report") / "report.html"), stats


def edited_copy(run_output, tmp_path):
    """A copy of the run's output folder that a test may change."""
    copy = tmp_path / "out"
    shutil.copytree(run_output[0], copy, ignore=shutil.ignore_patterns("_work"))
    return copy


def test_funnel_numbers_are_the_stats(report):
    html, stats = report
    rows = {
        stage: (int(n_in), int(n_out))
        for stage, n_in, n_out in re.findall(r'<tr data-stage="([^"]+)">.*?funnel-in">(\d+)<.*?funnel-out">(\d+)<', html)
    }
    assert rows == {name: (counts["in"], counts["out"]) for name, counts in stats["stages"].items()}


def test_drop_reasons_with_counts_and_examples(report, run_output):
    html, stats = report
    counts = {reason: int(n) for reason, n in re.findall(r'<tr data-reason="([^"]+)">.*?drop-count">(\d+)<', html)}
    assert counts == stats["drops_by_reason"] and counts
    rejects = pq.read_table(run_output[0] / "rejects").to_pylist()
    shown = [reject for reject in rejects if f'<span class="key">{reject["key"]}</span>' in html]
    expected = sum(min(REJECTS_PER_REASON, n) for n in counts.values())
    assert len(shown) == expected and {reject["reason"] for reject in shown} == set(counts)
    assert html.count('class="card reject"') == expected


def test_gallery_holds_n_samples_whose_images_decode(report):
    html, stats = report
    elements = Elements(html)
    cards = [attrs for attrs in elements.named("div") if attrs.get("class") == "card"]
    assert len(cards) == GALLERY and stats["samples"] >= GALLERY
    images = [attrs["src"] for attrs in elements.named("img")]
    assert len(images) >= GALLERY
    for src in images:
        prefix, _, payload = src.partition(",")
        assert prefix == "data:image/jpeg;base64"
        with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
            image.load()
            assert max(image.size) <= 512


def test_nothing_is_fetched_from_outside_the_file(report):
    html, _ = report
    elements = Elements(html)
    for tag, attrs in elements.tags:
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith(("data:", "#")), (tag, name, value)
    assert not elements.named("link") and not elements.named("iframe")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html) and "@import" not in html
    assert all("src" not in attrs for attrs in elements.named("script"))


def test_columns_the_run_lacks_get_a_note_not_a_chart(report):
    html, _ = report  # the fixture's run has no CLIP stage
    assert re.search(r'data-distribution="clip_score"><figcaption>[^<]*</figcaption><p class="note">not in this run', html)
    for drawn in ("figure_type", "license", "year", "journal", "caption_length", "image_size", "panels_per_figure"):
        assert f'<svg class="chart" data-chart="{drawn}"' in html


def test_histograms_count_every_figure_once(report, run_output):
    html, _ = report
    index = pq.read_table(run_output[0] / "index").to_pylist()
    figures = len({row["parent_key"] or row["sample_key"] for row in index})
    assert f"caption characters (n = {figures})" in html and f"longest side in pixels (n = {figures})" in html
    bars = re.search(r'data-chart="caption_length".*?</svg>', html).group(0)
    assert sum(int(n) for n in re.findall(r"<title>[^<]*: (\d+)</title></rect>", bars)) == figures


def test_captions_cannot_inject_markup(run_output, tmp_path):
    output = edited_copy(run_output, tmp_path)
    part = min((output / "index").glob("*.parquet"))
    table = pq.read_table(part)
    hostile = '<script>document.title="owned"</script><img src=x onerror=alert(1)>"&'
    rows = table.to_pylist()
    for row in rows:
        row.update(caption=hostile, journal=hostile, label="</p><script>alert(2)</script>")
    pq.write_table(table.from_pylist(rows, schema=table.schema), part)
    html = write_report(output, tmp_path / "report.html", "--gallery", "1000")
    elements = Elements(html)
    assert len(elements.named("script")) == 1  # the page's own
    assert all(attrs["src"].startswith("data:") for attrs in elements.named("img"))
    assert "&lt;script&gt;document.title=&quot;owned&quot;&lt;/script&gt;" in html


def test_an_unfinished_run_is_reported_from_its_unit_records(run_output, tmp_path):
    output = edited_copy(run_output, tmp_path)
    (output / "stats.json").unlink()
    loaded = load_run_output(output)
    assert not loaded.finished
    assert loaded.stats["stages"] == run_output[1]["stages"]
    assert "in progress or stopped" in write_report(output, tmp_path / "report.html")


def test_a_run_without_samples_or_rejects_still_reports(run_output, tmp_path):
    output = edited_copy(run_output, tmp_path)
    for folder in ("index", "rejects"):
        shutil.rmtree(output / folder)
    result = build_report(output, tmp_path / "report.html")
    html = result.path.read_text()
    assert (result.samples, result.rejects, result.gallery, result.charts) == (0, 0, 0, 0)
    assert html.count("not in this run") == result.charts_skipped == 8
    assert html.count('<svg class="chart"') == 2  # the funnel and the drop reasons, from stats.json


def test_a_folder_that_is_no_output_is_one_line_error(tmp_path, capsys):
    (tmp_path / "stats.json").write_text("{}")
    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "not a figcurate output" in error
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert not (tmp_path / "report.html").exists()


def test_the_cli_prints_path_size_and_counts(run_output, tmp_path, capsys):
    result = build_report(run_output[0], tmp_path / "r.html", gallery_size=2, seed=3)
    assert result.gallery == 2 and result.samples == run_output[1]["samples"] and result.bytes == (tmp_path / "r.html").stat().st_size
    assert main(["report", str(run_output[0]), "--output", str(tmp_path / "r.html"), "--gallery", "2"]) == 0
    printed = capsys.readouterr().out
    assert str(tmp_path / "r.html") in printed and " MB" in printed and f"{result.samples} samples" in printed


def test_same_seed_same_gallery(run_output, tmp_path):
    first = build_report(run_output[0], tmp_path / "a.html", gallery_size=3, seed=7)
    second = build_report(run_output[0], tmp_path / "b.html", gallery_size=3, seed=7)
    assert first.path.read_text() == second.path.read_text()


def panel_rows() -> tuple[dict, list[dict], dict[str, bytes]]:
    """Two panels of a 200x100 figure (red left half, blue right half) as the index and shard hold them."""
    boxes = [[0, 0, 100, 100], [100, 0, 200, 100]]
    rows = [
        {"sample_key": f"PMC1v1-f001-p0{n}", "parent_key": "PMC1v1-f001", "panel_index": n, "panel_box": box, "panel_boxes": boxes,
         "source_width": 200, "source_height": 100, "media_key": "PMC1.1/fig1.jpg", "media_source": "file"}
        for n, box in enumerate(boxes, start=1)
    ]  # fmt: skip
    images = {
        rows[0]["sample_key"]: image_bytes((50, 50), mode="L", color=76),
        rows[1]["sample_key"]: image_bytes((50, 50), mode="L", color=29),
    }
    return rows[0], rows, images


def test_a_panel_is_shown_on_its_figure_rebuilt_from_the_panels(tmp_path):
    row, siblings, images = panel_rows()
    run = RunOutput(root=tmp_path, stats={}, finished=True, run_info={})  # no local source to read
    card = sample_card(run, row, siblings, images)
    assert card.image and card.figure and "rebuilt from its panels" in card.figure_note
    with Image.open(io.BytesIO(base64.b64decode(card.figure.partition(",")[2]))) as figure:
        assert figure.size[0] == 2 * figure.size[1]
        left, right = figure.convert("L").getpixel((figure.width // 4, figure.height // 2)), figure.convert("L").getpixel((3 * figure.width // 4, figure.height // 2))
    assert abs(left - 76) < 8 and abs(right - 29) < 8
    drawn = Elements(figure_with_boxes(card))
    assert [attrs["class"] for attrs in drawn.named("rect")] == ["this", "other"]
    assert drawn.named("svg")[0]["viewbox"] == "0 0 200 100"
