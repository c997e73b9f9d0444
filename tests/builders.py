"""Small builders of test inputs: JATS bytes, images, and stage rows."""

from __future__ import annotations

import io
import re
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from schemas.keys import sample_key
from schemas.records import ARTICLE, FETCHED_ARTICLE, FIGURE, FIGURE_MEDIA, conform
from stages.runtime.context import StageContext

# The tiny CLIP architecture shipped for plumbing runs (random init; open_clip ``local-dir:``).
TINY_CLIP = Path(__file__).resolve().parents[1] / "configs" / "models" / "tiny-clip"

def train_open_clip(train_data: str, logs: Path, *extra: str) -> str:
    """One epoch of open_clip's own trainer (its CLI, CPU) on webdataset URLs with the tiny CLIP; its log."""
    import subprocess
    import sys

    command = [
        sys.executable, "-m", "open_clip_train.main",
        "--dataset-type", "webdataset", "--train-data", train_data, *extra,
        "--model", f"local-dir:{TINY_CLIP}",
        "--batch-size", "4", "--epochs", "1", "--workers", "1", "--device", "cpu",
        "--lr", "1e-3", "--warmup", "1", "--log-every-n-steps", "1", "--precision", "fp32",
        "--logs", str(logs), "--name", "tiny", "--report-to", "", "--seed", "0",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert (logs / "tiny" / "checkpoints" / "epoch_1.pt").is_file()
    return (logs / "tiny" / "out.log").read_text()


def epoch_ran_whole(log: str, samples: int) -> bool:
    """open_clip's log shows a whole epoch over ``samples`` (batches of 4) with a finite loss at every step."""
    import math

    seen = 4 * math.ceil(samples / 4)
    losses = [float(value) for value in re.findall(r" Loss: ([0-9.]+)", log)]
    return f"[{seen}/{seen} (100%)]" in log and len(losses) == seen // 4 and all(math.isfinite(loss) for loss in losses)


DOCTYPE = (
    '<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.3 20210610//EN" '
    '"JATS-archivearticle1-3.dtd">'
)


def jats(body: str = "", floats: str = "", back: str = "", doctype: str = DOCTYPE) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"{doctype}\n"
        '<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:mml="http://www.w3.org/1998/Math/MathML">'
        "<front><article-meta><article-id pub-id-type=\"pmcid\">PMC1</article-id></article-meta></front>"
        f"<body>{body}</body><back>{back}</back>{floats}</article>"
    ).encode()


JATS_NAMESPACE = "https://jats.nlm.nih.gov/ns/archiving/1.3/"
# what may stand before the root element: the declaration, comments, processing instructions, the DOCTYPE
_PROLOG = re.compile(rb"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*", re.DOTALL)


def namespaced_jats(xml: bytes) -> bytes:
    """The article as PMC's newer renditions and OAI-PMH serve it: no DOCTYPE, every JATS element in
    the JATS 1.3 default namespace."""
    body = _PROLOG.sub(b"", xml, count=1)
    body = re.sub(rb"\A<article(?=[\s>])", b'<article xmlns="' + JATS_NAMESPACE.encode() + b'"', body, count=1)
    assert body.startswith(b"<article xmlns="), body[:80]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def oai_pmh_record(xml: bytes, identifier: str = "oai:pubmedcentral.nih.gov:1") -> bytes:
    """An OAI-PMH GetRecord response (metadataPrefix=pmc) holding the namespaced article."""
    article = namespaced_jats(xml).split(b"\n", 1)[1]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<responseDate>2026-12-01T00:00:00Z</responseDate>"
        f'<request verb="GetRecord" identifier="{identifier}" metadataPrefix="pmc">https://pmc.ncbi.nlm.nih.gov/api/oai/v1/mh/</request>'
        f"<GetRecord><record><header><identifier>{identifier}</identifier><datestamp>2026-11-30</datestamp>"
        "<setSpec>pmc-open</setSpec></header><metadata>"
    ).encode() + article + b"</metadata></record></GetRecord></OAI-PMH>"


def fig(fig_id: str, label: str | None = None, caption: str | None = "<p>A caption.</p>", href: str | None = None) -> str:
    label_xml = f"<label>{label}</label>" if label else ""
    caption_xml = f"<caption>{caption}</caption>" if caption is not None else ""
    graphic = f'<graphic xlink:href="{href}"/>' if href else ""
    return f'<fig id="{fig_id}">{label_xml}{caption_xml}{graphic}</fig>'


def image_bytes(size=(200, 120), mode="RGB", fmt="JPEG", color=(200, 30, 60), **save) -> bytes:
    rng = np.random.default_rng(0)
    if mode == "RGB":
        array = (rng.random((size[1], size[0], 3)) * 60 + np.array(color) * 0.7).clip(0, 255).astype("uint8")
        image = Image.fromarray(array, "RGB")
    else:
        image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def context(root=".") -> StageContext:
    return StageContext(source_root=str(root))


def identity(pmcid="PMC1", version=1, unit=0, prefix=None) -> dict:
    return {"pmcid": pmcid, "version": version, "work_unit": unit, "source_prefix": prefix or f"{pmcid}.{version}"}


def article_table(**overrides) -> pa.Table:
    return pa.Table.from_pylist([{**identity(), **overrides}], schema=ARTICLE)


def fetched_table(xml: bytes, media: list[dict] | None = None, **overrides) -> pa.Table:
    row = {**identity(), "license": "CC BY", "xml_key": "PMC1.1/PMC1.1.xml", "xml_bytes": xml, "media": media or [], **overrides}
    return pa.Table.from_pylist([row], schema=FETCHED_ARTICLE)


def figure_row(figure_index=1, **overrides) -> dict:
    base = identity()
    return {
        **base,
        "figure_index": figure_index,
        "sample_key": sample_key(base["pmcid"], base["version"], figure_index),
        "license": "CC BY",
        "fig_id": f"F{figure_index}",
        "label": f"Figure {figure_index}",
        "caption": f"Caption of figure {figure_index}.",
        "mentions": [],
        "media_key": f"PMC1.1/f{figure_index}.jpg",
        **overrides,
    }


def blocks_figure(width: int, height: int, blocks: list[tuple[int, int, int, int]]):
    """A PIL image of dark textured blocks (plots, photographs, lines of text) on white."""
    from PIL import Image

    pixels = np.full((height, width), 255, np.uint8)
    rng = np.random.default_rng(len(blocks))
    for x0, y0, x1, y1 in blocks:
        pixels[y0:y1, x0:x1] = rng.integers(0, 120, (y1 - y0, x1 - x0))
    return Image.fromarray(pixels).convert("RGB")


def figure_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FIGURE)


def media_table(rows: list[dict]) -> pa.Table:
    return conform(pa.Table.from_pylist(rows, schema=FIGURE_MEDIA), FIGURE_MEDIA)


def run_config(tmp_path: Path, corpus: Path, output: Path) -> Path:
    """The end-to-end tests' run: 5 articles per unit, small images."""
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: e2e\nsource: {{kind: local, root: {corpus}}}\n"
        f"output: {{path: {output}, articles_per_shard: 5}}\n"
        "stages: {images: {max_side: 256, min_side: 48, batch_size: 4}, fetch: {batch_size: 2},"
        " subfigures: {enabled: false}, subcaptions: {enabled: false}, filters: {min_side: 48}}\n"
    )
    return path


def scrape_ray_metrics(needle: str, containing: str = "", timeout_s: float = 60, until=None) -> list[str]:
    """The Prometheus lines that start with ``needle`` and hold ``containing`` on this Ray node's
    metrics port, once they appear (and, given ``until``, once ``until(lines)`` holds: workers
    report every second, each on its own clock)."""
    import ray

    port = ray.nodes()[0]["MetricsExportPort"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            body = ""
        lines = [line for line in body.splitlines() if line.startswith(needle) and containing in line]
        if lines and (until is None or until(lines)):
            return lines
        time.sleep(1)
    return lines


def sample_row(figure_index, pmcid="PMC1", **overrides) -> dict:
    """A live figure sample with a small real JPEG, as the shard writer receives it."""
    row = figure_row(figure_index, **overrides)
    row.update(pmcid=pmcid, source_prefix=f"{pmcid}.1", sample_key=f"{pmcid}v1-f{figure_index:03d}")
    row.update(image=image_bytes((80, 60)), image_width=80, image_height=60, image_sha256="x")
    return row
