"""The filters stage on curated rows (carried pixels or JPEG bytes): each filter at its boundary, disabled by null, and bad input."""

import io
import math

import numpy as np
import pyarrow as pa
import pytest
from builders import context, figure_row
from filter_images import sparse_line_plot
from PIL import Image
from pydantic import ValidationError

from pipeline.flow import STAGES
from schemas.records import CURATING, conform
from stages.filters.language import detect_language
from stages.filters.stage import Filters, FiltersSpec

ENGLISH = "Histological sections of the liver from control and mutant mice after staining."
FRENCH = "Coupes histologiques du foie de souris témoins et mutantes après coloration."


def encode(image: Image.Image, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=90)
    return buffer.getvalue()


def photo(width=200, height=150) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))


def sample(image: Image.Image | None = None, **overrides) -> dict:
    image = photo() if image is None else image
    defaults = {"caption": ENGLISH, "image": encode(image), "image_width": image.width, "image_height": image.height,
                "article_type": "research-article"}
    return figure_row(**{**defaults, **overrides})


def run(rows: list[dict], **settings) -> list[dict]:
    table = conform(pa.Table.from_pylist(rows), CURATING)
    out = Filters(FiltersSpec(**settings), context())(table)
    assert out.schema.equals(CURATING, check_metadata=False)
    return out.to_pylist()


def one(row: dict, **settings) -> dict:
    (out,) = run([row], **settings)
    return out


def assert_dropped(row: dict, reason: str, *in_detail: str):
    assert (row["drop_stage"], row["drop_reason"]) == ("filters", reason), row["drop_detail"]
    for text in in_detail:
        assert text in row["drop_detail"]


def test_registered_optional_stage_with_curated_output_and_pixels():
    assert STAGES["filters"] is Filters
    assert Filters.output_schema is CURATING and Filters.optional and Filters.uses_pixels


def test_kept_row_records_what_was_measured():
    row = one(sample())
    assert row["drop_reason"] is None
    assert row["caption_language"] == "en" and row["caption_language_score"] > 0.99
    assert 0.0 < row["dominant_color_fraction"] < 0.1
    assert row["image"] == sample()["image"]


# article type

@pytest.mark.parametrize("article_type", ["correction", "retraction", "expression-of-concern", "abstract", "Correction"])
def test_excluded_article_types_drop(article_type):
    assert_dropped(one(sample(article_type=article_type)), "article_type_excluded", repr(article_type))


@pytest.mark.parametrize("article_type", ["research-article", "review-article", None])
def test_other_and_unknown_article_types_are_kept(article_type):
    assert one(sample(article_type=article_type))["drop_reason"] is None


def test_article_type_filter_configurable_and_disabled_by_null():
    assert_dropped(one(sample(article_type="review-article"), exclude_article_types=["Review-Article"]), "article_type_excluded")
    assert one(sample(article_type="correction"), exclude_article_types=None)["drop_reason"] is None


def test_article_type_is_checked_before_the_costly_image():
    assert_dropped(one(sample(article_type="correction", image=photo(), caption="x")), "article_type_excluded")


# caption length

def test_min_caption_words_boundary():
    assert one(sample(caption="Liver sections, stained."))["drop_reason"] is None  # exactly 3 words
    assert_dropped(one(sample(caption="Figure 1.")), "caption_too_short", "2 words < min_caption_words 3")


def test_min_caption_chars_boundary():
    settings = {"min_caption_words": None, "min_caption_chars": 10, "languages": None}
    assert one(sample(caption="Liver cell"), **settings)["drop_reason"] is None  # 10 characters
    assert_dropped(one(sample(caption="Liver cel"), **settings), "caption_too_short", "9 chars < min_caption_chars 10")


def test_max_caption_words_boundary():
    five, six = "one two three four five", "one two three four five six"
    assert one(sample(caption=five), max_caption_words=5, languages=None)["drop_reason"] is None
    assert_dropped(one(sample(caption=six), max_caption_words=5, languages=None), "caption_too_long", "6 words > max_caption_words 5")


def test_max_caption_chars_boundary():
    text = "word " * 20  # 99 characters once trimmed
    settings = {"max_caption_chars": 99, "languages": None}
    assert one(sample(caption=text), **settings)["drop_reason"] is None
    assert_dropped(one(sample(caption=text + "x"), **settings), "caption_too_long", "101 chars > max_caption_chars 99")


def test_default_maximum_is_generous_but_real():
    long_caption = " ".join(["The liver sections were stained."] * 250)  # 1250 words
    assert_dropped(one(sample(caption=long_caption)), "caption_too_long", "max_caption_words 1000")


def test_caption_length_filters_disabled_by_null():
    settings = {"min_caption_words": None, "min_caption_chars": None, "max_caption_words": None, "max_caption_chars": None, "languages": None}
    assert one(sample(caption="A"), **settings)["drop_reason"] is None
    assert one(sample(caption="word " * 3000), **settings)["drop_reason"] is None


def test_aligned_panel_is_judged_on_its_subcaption():
    panel = sample(panel_index=1, subcaption="Control.", caption=ENGLISH)
    assert_dropped(one(panel), "caption_too_short", "1 words")
    whole = sample(panel_index=None, subcaption="Control.", caption=ENGLISH)
    assert one(whole)["drop_reason"] is None


# language

def test_foreign_caption_dropped_with_its_language_and_score():
    assert_dropped(one(sample(caption=FRENCH)), "caption_language", "caption language fr", "languages ['en']", "min_language_score 0.99999")


def test_other_kept_languages_pass():
    row = one(sample(caption=FRENCH), languages=["en", "fr"])
    assert row["drop_reason"] is None and row["caption_language"] == "fr"


def test_min_language_score_boundary():
    text = "Schnitt der Leber."  # three German words: detected, but not with certainty
    code, score = detect_language(text)
    assert code == "de" and 0.5 < score < 0.99999
    assert_dropped(one(sample(caption=text), min_language_score=score), "caption_language", "caption language de")
    kept = one(sample(caption=text), min_language_score=math.nextafter(score, 1.0))
    assert kept["drop_reason"] is None
    assert kept["caption_language"] == "de" and kept["caption_language_score"] == pytest.approx(score)


def test_short_technical_english_caption_is_kept_by_default():
    text = "Leucotrichia interrupta Flint, 1991 (USNM104528). Male genitalia: lateral C segments IX–X."
    assert one(sample(caption=text))["drop_reason"] is None


def test_panels_are_judged_by_their_figures_caption_read_once():
    caption = "Coupes histologiques du foie de souris. (A) Témoins. (B) Mutantes après coloration."
    panels = [sample(caption=caption, panel_index=i, subcaption=text) for i, text in ((1, "Control livers after staining."), (2, "Mutant livers after staining."))]
    before = detect_language.cache_info()
    rows = run(panels)
    assert [(r["drop_reason"], "caption language fr" in r["drop_detail"]) for r in rows] == [("caption_language", True)] * 2
    after = detect_language.cache_info()
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)  # one reading for the figure's two panels


def test_language_filter_disabled_by_null_measures_nothing():
    row = one(sample(caption=FRENCH), languages=None)
    assert row["drop_reason"] is None
    assert row["caption_language"] is None and row["caption_language_score"] is None


# image size and shape

def test_min_side_boundary():
    assert one(sample(photo(100, 64)))["drop_reason"] is None
    assert_dropped(one(sample(photo(100, 63))), "image_too_small", "100x63", "short side 63 < min_side 64")


def test_min_side_uses_the_samples_own_size():
    # A panel row: its own (cropped) size is what counts.
    assert_dropped(one(sample(photo(), panel_index=1, subcaption=ENGLISH, image_width=120, image_height=40)), "image_too_small", "120x40")


def test_max_aspect_ratio_boundary():
    assert one(sample(photo(512, 64)))["drop_reason"] is None  # exactly 8.0
    assert_dropped(one(sample(photo(513, 64))), "image_aspect_ratio", "aspect ratio 8.02 > max_aspect_ratio 8.0")
    assert_dropped(one(sample(photo(64, 600))), "image_aspect_ratio", "aspect ratio 9.38")


def test_size_and_shape_filters_disabled_by_null():
    assert one(sample(photo(20, 10)), min_side=None)["drop_reason"] is None
    assert one(sample(photo(1000, 64)), max_aspect_ratio=None)["drop_reason"] is None


def test_missing_size_is_read_from_the_image():
    assert_dropped(one(sample(photo(100, 50), image_width=None, image_height=None)), "image_too_small", "100x50")


# blank images

@pytest.mark.parametrize("color", ["white", (30, 90, 200)])
def test_blank_and_single_colour_images_drop(color):
    assert_dropped(one(sample(Image.new("RGB", (300, 200), color))), "image_blank", "1.0000 > max_dominant_color_fraction 0.99")


def test_max_dominant_color_fraction_boundary():
    image = Image.new("RGB", (100, 100), "white")
    image.putpixel((50, 50), (0, 0, 0))  # 9999 of 10000 pixels white, PNG keeps it exact
    kept = one(sample(image), max_dominant_color_fraction=0.9999)
    assert kept["drop_reason"] is None and kept["dominant_color_fraction"] == pytest.approx(0.9999)
    assert_dropped(one(sample(image), max_dominant_color_fraction=0.9998), "image_blank", "0.9999 > max_dominant_color_fraction 0.9998")


def test_sparse_line_plot_jpeg_is_not_blank():
    plot = sparse_line_plot(1024, 768, line_width=1)
    row = one({**sample(plot), "image": encode(plot, "JPEG")})
    assert row["drop_reason"] is None and row["dominant_color_fraction"] < 0.98


def test_blank_check_reads_the_carried_pixels_when_a_row_has_them():
    blank, busy = Image.new("RGB", (300, 200), "white"), photo(300, 200)
    from_pixels = one({**sample(busy), "pixels": blank.tobytes()})
    assert_dropped(from_pixels, "image_blank")
    # pixels that do not fit the row's size are not trusted: the JPEG decides
    assert one({**sample(busy), "pixels": blank.tobytes()[:-3]})["drop_reason"] is None


def test_blank_filter_disabled_by_null_skips_decoding():
    row = one(sample(Image.new("RGB", (300, 200), "white")), max_dominant_color_fraction=None)
    assert row["drop_reason"] is None and row["dominant_color_fraction"] is None
    assert one({**sample(), "image": b"not an image"}, max_dominant_color_fraction=None)["drop_reason"] is None


# bad input

def test_broken_image_bytes_become_a_decode_error():
    truncated = encode(photo(), "JPEG")[:300]
    rows = run([{**sample(), "image": b"not an image"}, {**sample(figure_index=2), "image": truncated}, {**sample(figure_index=3), "image": None}])
    for row in rows:
        assert_dropped(row, "image_decode_error")


def test_dropped_input_row_passes_through_untouched():
    upstream = {**sample(caption="x", image=Image.new("RGB", (10, 10))), "drop_stage": "images", "drop_reason": "image_too_small", "drop_detail": "10x10"}
    (row,) = run([upstream])
    assert (row["drop_stage"], row["drop_reason"], row["drop_detail"]) == ("images", "image_too_small", "10x10")
    assert row["caption_language"] is None and row["dominant_color_fraction"] is None


def test_one_bad_row_does_not_affect_its_batch():
    rows = run([sample(), sample(figure_index=2, caption=FRENCH), {**sample(figure_index=3), "image": b"junk"}])
    assert [r["drop_reason"] for r in sorted(rows, key=lambda r: r["figure_index"])] == [None, "caption_language", "image_decode_error"]


# settings

def test_settings_are_validated_with_clear_messages():
    with pytest.raises(ValidationError, match=r"min_caption_words \(20\) must not exceed max_caption_words \(10\)"):
        FiltersSpec(min_caption_words=20, max_caption_words=10)
    with pytest.raises(ValidationError, match=r"min_caption_chars \(50\) must not exceed max_caption_chars \(40\)"):
        FiltersSpec(min_caption_chars=50, max_caption_chars=40)
    with pytest.raises(ValidationError, match="not ISO 639-1 codes the langid model knows"):
        FiltersSpec(languages=["english"])
    with pytest.raises(ValidationError):
        FiltersSpec(languages=[])
    with pytest.raises(ValidationError):
        FiltersSpec(max_aspect_ratio=0.5)
    with pytest.raises(ValidationError):
        FiltersSpec(max_dominant_color_fraction=1.5)


def test_settings_are_normalised():
    spec = FiltersSpec(languages=[" EN", "la"], exclude_article_types=["Correction "])
    assert spec.languages == ("en", "la") and spec.exclude_article_types == ("correction",)
