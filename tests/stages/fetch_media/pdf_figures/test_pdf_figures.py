import io
import os
import time
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from pdf_builders import (
    SCAN_PICTURE,
    TWO_FIGURES,
    VECTOR_FIGURE,
    fan_out_pdf,
    scanned_page_pdf,
    text_pages,
    two_figure_pdf,
    vector_figure_pdf,
)
from PIL import Image
from pydantic import ValidationError

from schemas.drop_reasons import DROP_REASONS
from stages.fetch_media.pdf_figures import FigureCrop, PdfError, PdfLimits, find_figures

REAL_ARTICLE = Path("/work/shared/realdata/pmc/stencila/extracted/PMC12419688")


def child_pids() -> set[int]:
    pids = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.update(int(pid) for pid in (task / "children").read_text().split())
        except FileNotFoundError:
            continue  # the thread ended between the listing and the read (Ray's threads come and go)
    return pids


@pytest.fixture
def no_leftover_children():
    before = child_pids()
    yield
    assert child_pids() - before == set(), "a PDF worker outlived its call"


def grey64(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png)).convert("L").resize((64, 64), Image.BILINEAR)
    return np.asarray(image, dtype=np.float64)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def assert_box(actual: tuple[float, ...], expected: pymupdf.Rect, tolerance: float = 1.0) -> None:
    assert np.allclose(actual, tuple(expected), atol=tolerance), (actual, tuple(expected))


def failure(pdf: bytes, limits: PdfLimits, labels=("Figure 1",)) -> PdfError:
    with pytest.raises(PdfError) as raised:
        find_figures(pdf, list(labels), limits)
    return raised.value


# The real article: one figure, labelled "Figure.", on page 2 of 3.


@pytest.mark.usefixtures("no_leftover_children")
def test_real_article_figure_is_found_and_looks_like_the_published_image():
    if not REAL_ARTICLE.is_dir():
        pytest.skip("/work/shared/realdata is absent")
    pdf = (REAL_ARTICLE / "koaf197.pdf").read_bytes()
    started = time.monotonic()
    crops = find_figures(pdf, ["Figure.", None], PdfLimits())
    elapsed = time.monotonic() - started

    assert set(crops) == {"Figure."}
    crop = crops["Figure."]
    assert crop.page == 1
    assert crop.method == "embedded_image"
    assert crop.caption.startswith("Figure. Transcriptional regulation")
    assert 500 <= crop.width <= 2048 and 300 <= crop.height <= 2048
    assert Image.open(io.BytesIO(crop.png)).size == (crop.width, crop.height)
    # Measured: the crop against koaf197f1.jpg at 64x64 grey gives correlation 0.9994 and mean
    # absolute difference 0.50 (of 255); the same jpg flipped upside down gives correlation 0.54.
    published = grey64((REAL_ARTICLE / "koaf197f1.jpg").read_bytes())
    assert correlation(grey64(crop.png), published) > 0.98
    assert np.abs(grey64(crop.png) - published).mean() < 4.0
    assert correlation(grey64(crop.png), np.flipud(published)) < 0.9
    assert elapsed < 10  # measured 0.3 s on 2 shared cores, 0.2 s of it the worker's start


# Generated figures: where they were put is where they are found.


@pytest.mark.usefixtures("no_leftover_children")
def test_two_figures_are_found_where_they_were_put_and_a_missing_label_is_absent():
    crops = find_figures(two_figure_pdf(), ["Fig. 2", "Figure 1", "Figure 3"], PdfLimits())

    assert set(crops) == {"Figure 1", "Fig. 2"}
    for label, wanted in (("Figure 1", "Figure 1"), ("Fig. 2", "Figure 2")):
        page, rect = TWO_FIGURES[wanted]
        crop = crops[label]
        assert isinstance(crop, FigureCrop)
        assert crop.page == page
        assert crop.method == "embedded_image"
        assert crop.caption.startswith(f"{wanted}.")
        assert_box(crop.bbox, rect)
        # 150 dpi: points * 150 / 72 pixels
        assert abs(crop.width - rect.width * 150 / 72) <= 2 and abs(crop.height - rect.height * 150 / 72) <= 2
    assert correlation(grey64(crops["Figure 1"].png), grey64(crops["Fig. 2"].png)) < 0.9


@pytest.mark.usefixtures("no_leftover_children")
def test_crop_size_is_capped_by_max_side():
    crops = find_figures(two_figure_pdf(), ["Figure 2"], PdfLimits(dpi=600, max_side=256))
    assert max(crops["Figure 2"].width, crops["Figure 2"].height) == 256


@pytest.mark.usefixtures("no_leftover_children")
def test_vector_drawing_figure_is_found():
    crops = find_figures(vector_figure_pdf(), ["Figure 3"], PdfLimits())
    crop = crops["Figure 3"]
    assert crop.method == "vector_drawing"
    assert_box(crop.bbox, VECTOR_FIGURE, tolerance=2.0)


@pytest.mark.usefixtures("no_leftover_children")
def test_scanned_page_figure_is_the_band_above_its_caption():
    crops = find_figures(scanned_page_pdf(), ["Figure 4"], PdfLimits())
    crop = crops["Figure 4"]
    assert crop.method == "page_scan_above_caption"
    x0, y0, x1, y1 = crop.bbox
    page = pymupdf.open(stream=scanned_page_pdf())[0]
    text_above = [block for block in page.get_text("blocks") if block[3] < SCAN_PICTURE.y0]
    caption_top = min(block[1] for block in page.get_text("blocks") if block[4].startswith("FIG. 4."))
    assert y0 == pytest.approx(max(block[3] for block in text_above), abs=0.5)  # just below the body text
    assert y1 == pytest.approx(caption_top, abs=0.5)
    assert x0 <= SCAN_PICTURE.x0 and x1 >= SCAN_PICTURE.x1  # the whole picture
    assert grey64(crop.png).std() > 20  # the picture, not blank paper


@pytest.mark.usefixtures("no_leftover_children")
def test_pdf_without_captions_yields_nothing():
    assert find_figures(text_pages(3).tobytes(), ["Figure 1", "Figure."], PdfLimits()) == {}


def test_only_unlabelled_figures_need_no_worker():
    assert find_figures(two_figure_pdf(), [None, "  "], PdfLimits()) == {}


# Hostile and broken PDFs: a drop reason, the caller alive, no worker left behind.


@pytest.mark.usefixtures("no_leftover_children")
def test_encrypted_pdf():
    pdf = text_pages(2).tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")
    assert failure(pdf, PdfLimits()).reason == "pdf_encrypted"


@pytest.mark.usefixtures("no_leftover_children")
def test_truncated_pdf():
    pdf = two_figure_pdf()
    error = failure(pdf[: len(pdf) // 2], PdfLimits())
    assert error.reason == "pdf_unreadable"
    assert "truncated" in error.detail


@pytest.mark.usefixtures("no_leftover_children")
def test_not_a_pdf_and_a_corrupt_pdf():
    assert failure(b"<html>not a pdf</html>", PdfLimits()).reason == "pdf_unreadable"
    corrupt = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
    error = failure(corrupt, PdfLimits())
    assert error.reason == "pdf_unreadable"
    assert error.detail.startswith("open:")  # the worker tried, and MuPDF refused


@pytest.mark.usefixtures("no_leftover_children")
def test_too_many_pages_is_rejected_fast():
    pdf = text_pages(2000).tobytes()
    started = time.monotonic()
    error = failure(pdf, PdfLimits(max_pages=200))
    elapsed = time.monotonic() - started
    assert error.reason == "pdf_too_large"
    assert "2000 pages" in error.detail
    assert elapsed < 5  # measured 0.3 s, nearly all of it the worker's start


def test_too_many_bytes_is_rejected_before_any_work():
    error = failure(two_figure_pdf(), PdfLimits(max_bytes=1000))
    assert error.reason == "pdf_too_large"


@pytest.mark.usefixtures("no_leftover_children")
def test_slow_pdf_is_killed_at_the_time_limit():
    started = time.monotonic()
    error = failure(fan_out_pdf(), PdfLimits(timeout_s=3))
    elapsed = time.monotonic() - started
    assert error.reason == "pdf_timeout"
    assert 3 <= elapsed < 8


@pytest.mark.usefixtures("no_leftover_children")
def test_memory_bound_stops_an_oversized_render():
    # 300x200 pt at 1200 dpi is 5000x3333 RGB pixels, 50 MB: over a 16 MiB bound.
    limits = PdfLimits(max_memory_mb=16, dpi=1200, max_side=20000)
    error = failure(two_figure_pdf(), limits)
    assert error.reason == "pdf_out_of_memory"
    assert "render" in error.detail
    # The same render fits a generous bound, so the bound (not the PDF) was the cause.
    assert find_figures(two_figure_pdf(), ["Figure 1"], limits.model_copy(update={"max_memory_mb": 512}))


def test_every_reason_raised_is_a_known_drop_reason():
    reasons = ["pdf_unreadable", "pdf_encrypted", "pdf_too_large", "pdf_timeout", "pdf_out_of_memory", "pdf_figure_not_found"]
    assert all(reason in DROP_REASONS for reason in reasons)
    with pytest.raises(ValueError):
        PdfError("pdf_on_fire")


def test_limits_are_frozen_and_strict():
    limits = PdfLimits()
    assert (limits.timeout_s, limits.max_memory_mb, limits.max_pages, limits.dpi) == (30, 1024, 200, 150)
    with pytest.raises(ValidationError):
        PdfLimits(timeout_sec=5)
    with pytest.raises(ValidationError):
        PdfLimits(timeout_s=0)
    with pytest.raises(ValidationError):
        limits.dpi = 300


def test_worker_dies_with_a_caller_that_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    pdf_path = tmp_path / "slow.pdf"
    pdf_path.write_bytes(fan_out_pdf())
    caller_code = (
        "import sys; from stages.fetch_media.pdf_figures import PdfLimits, find_figures; "
        f"find_figures(open({str(pdf_path)!r}, 'rb').read(), ['Figure 1'], PdfLimits(timeout_s=60))"
    )
    caller = subprocess.Popen([sys.executable, "-c", caller_code], cwd=Path(__file__).resolve().parents[4])
    try:
        workers: list[int] = []
        deadline = time.monotonic() + 10
        while not workers and time.monotonic() < deadline:
            time.sleep(0.1)
            workers = [int(pid) for task in Path(f"/proc/{caller.pid}/task").iterdir() for pid in (task / "children").read_text().split()]
        assert workers, "the caller never started a PDF worker"
        time.sleep(0.5)  # let the worker arm its death signal and get into the slow page
        caller.send_signal(signal.SIGKILL)
        caller.wait()
        deadline = time.monotonic() + 5
        while Path(f"/proc/{workers[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{workers[0]}").exists(), "the PDF worker outlived its killed caller"
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
