"""Stage ``filters``: quality filters, each with a threshold setting (null turns it off) and a drop reason.

Checks run cheapest first: article type, caption length, caption language, then the image (its
size and shape from the row, its dominant colour from decoded pixels). The caption checks apply
to the text the sample trains on (``sample_text``: a panel's subcaption when aligned, else the
caption). A kept row carries what the enabled filters measured (``caption_language``,
``caption_language_score``, ``dominant_color_fraction``); a dropped row's detail states the
measured value and the threshold it crossed. License and retraction selection happen earlier, at
fetch (source settings ``licenses`` and ``exclude_retracted``). See docs/filters.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field, field_validator, model_validator

from schemas.records import CURATING
from stages.filters.checks import (
    THUMBNAIL_SIDE,
    aspect_ratio,
    caption_chars,
    caption_words,
    dominant_color_fraction,
)
from stages.filters.language import (
    CANDIDATE_LANGUAGES,
    detect_language,
    known_languages,
)
from stages.images.pixels import pixels_of
from stages.io.shard_writer import sample_text
from stages.runtime.base import Drop, Row, Stage, StageSpec

DEFAULT_EXCLUDED_ARTICLE_TYPES = ("correction", "retraction", "expression-of-concern", "abstract")


class FiltersSpec(StageSpec):
    min_side: int | None = Field(
        64, ge=1, description="samples whose own image (the panel for a panel sample) has a shorter side below this are dropped (image_too_small)"
    )
    max_aspect_ratio: float | None = Field(
        8.0, ge=1.0, description="samples whose long side / short side exceeds this are dropped (image_aspect_ratio)"
    )
    max_dominant_color_fraction: float | None = Field(
        0.99,
        gt=0.0,
        le=1.0,
        description="samples whose most common colour (4 bits per channel, 128-px thumbnail) covers more than this share of "
        "pixels are dropped as blank (image_blank); sparse line plots on white measure about 0.96-0.97",
    )
    min_caption_words: int | None = Field(
        3, ge=1, description="texts with fewer words are dropped (caption_too_short); 3 removes boilerplate like 'Figure 1.'"
    )
    min_caption_chars: int | None = Field(10, ge=1, description="texts with fewer characters are dropped (caption_too_short)")
    max_caption_words: int | None = Field(1000, ge=1, description="texts with more words are dropped (caption_too_long)")
    max_caption_chars: int | None = Field(10000, ge=1, description="texts with more characters are dropped (caption_too_long)")
    languages: tuple[str, ...] | None = Field(
        ("en",),
        min_length=1,
        description="ISO 639-1 codes of the caption languages kept; null keeps every language and skips detection",
    )
    min_language_score: float = Field(
        0.99999,
        ge=0.0,
        le=1.0,
        description="a caption is dropped for its language (caption_language) only when the detected language is outside "
        "`languages` with at least this probability; less confident detections (short or technical text) are kept",
    )
    exclude_article_types: tuple[str, ...] | None = Field(
        DEFAULT_EXCLUDED_ARTICLE_TYPES,
        description="JATS article-type values whose samples are dropped (article_type_excluded); rows of unknown type are kept",
    )

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if languages is None:
            return None
        codes = tuple(code.strip().lower() for code in languages)
        unknown = sorted(set(codes) - set(CANDIDATE_LANGUAGES) - known_languages())
        if unknown:
            raise ValueError(f"languages {unknown} are not ISO 639-1 codes the langid model knows; known: {sorted(known_languages())}")
        return codes

    @field_validator("exclude_article_types")
    @classmethod
    def _normalised_types(cls, types: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if types is None else tuple(value.strip().lower() for value in types)

    @model_validator(mode="after")
    def _min_below_max(self) -> FiltersSpec:
        for low, high in (("min_caption_words", "max_caption_words"), ("min_caption_chars", "max_caption_chars")):
            low_value, high_value = getattr(self, low), getattr(self, high)
            if low_value is not None and high_value is not None and low_value > high_value:
                raise ValueError(f"{low} ({low_value}) must not exceed {high} ({high_value})")
        return self


class Filters(Stage):
    name = "filters"
    spec_type = FiltersSpec
    output_schema = CURATING
    optional = True
    uses_pixels = True
    reads = ("article_type", "caption", "subcaption", "panel_index", "image_width", "image_height", "pixels", "image")

    def process(self, row: Row) -> Iterable[Row]:
        self._check_article_type(row.get("article_type"))
        text = sample_text(row) or ""
        self._check_caption_length(text)
        # A panel's subcaption is part of its figure's caption: the caption, longer and the same for
        # every panel, is what the language is read from, once per figure.
        language, language_score = self._check_language(row.get("caption") or text)
        fraction = self._check_image(row)
        yield {**row, "caption_language": language, "caption_language_score": language_score, "dominant_color_fraction": fraction}

    def _check_article_type(self, article_type: str | None) -> None:
        excluded = self.spec.exclude_article_types
        if excluded and article_type and article_type.strip().lower() in excluded:
            raise Drop("article_type_excluded", f"article_type {article_type!r} is in exclude_article_types {list(excluded)}")

    def _check_caption_length(self, text: str) -> None:
        spec: FiltersSpec = self.spec
        for unit, count, low, high in (
            ("words", caption_words(text), spec.min_caption_words, spec.max_caption_words),
            ("chars", caption_chars(text), spec.min_caption_chars, spec.max_caption_chars),
        ):
            if low is not None and count < low:
                raise Drop("caption_too_short", f"caption has {count} {unit} < min_caption_{unit} {low}")
            if high is not None and count > high:
                raise Drop("caption_too_long", f"caption has {count} {unit} > max_caption_{unit} {high}")

    def _check_language(self, text: str) -> tuple[str | None, float | None]:
        spec: FiltersSpec = self.spec
        if spec.languages is None or not text.strip():
            return None, None
        language, score = detect_language(text, keep=spec.languages)
        if language not in spec.languages and score >= spec.min_language_score:
            raise Drop(
                "caption_language",
                f"caption language {language} (score {score:.6f}) is not in languages {list(spec.languages)} "
                f"(min_language_score {spec.min_language_score})",
            )
        return language, score

    def _check_image(self, row: Row) -> float | None:
        spec: FiltersSpec = self.spec
        width, height = row.get("image_width"), row.get("image_height")
        image = None
        if width is None or height is None:
            image = pixels_of(row, THUMBNAIL_SIDE)
            width, height = image.size
        if spec.min_side is not None and min(width, height) < spec.min_side:
            raise Drop("image_too_small", f"image {width}x{height}: short side {min(width, height)} < min_side {spec.min_side}")
        if spec.max_aspect_ratio is not None and aspect_ratio(width, height) > spec.max_aspect_ratio:
            raise Drop(
                "image_aspect_ratio",
                f"image {width}x{height}: aspect ratio {aspect_ratio(width, height):.2f} > max_aspect_ratio {spec.max_aspect_ratio}",
            )
        if spec.max_dominant_color_fraction is None:
            return None
        fraction = dominant_color_fraction(image if image is not None else pixels_of(row, THUMBNAIL_SIDE))
        if fraction > spec.max_dominant_color_fraction:
            raise Drop(
                "image_blank",
                f"dominant colour fraction {fraction:.4f} > max_dominant_color_fraction {spec.max_dominant_color_fraction}",
            )
        return fraction

