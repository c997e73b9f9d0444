"""The measures the quality filters compare with their thresholds: one small pure function each."""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

# Longest side of the thumbnail the dominant colour is measured on, and bits kept per RGB channel.
# Box averaging (and JPEG DCT scaling, which stage decoding uses) turns 1-px lines into grey pixels
# instead of skipping them, so a sparse plot stays far from a blank page; 4 bits (16 levels per
# channel) absorb JPEG noise on flat backgrounds. Measurements in docs/filters.md.
THUMBNAIL_SIDE = 128
COLOR_BITS = 4

# Scripts written without spaces between words: each character counts as a word.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")


def caption_words(text: str) -> int:
    """Words of ``text``: whitespace-separated tokens holding a letter or digit, CJK characters one each."""
    return sum(1 for token in _TOKEN.findall(text) if any(char.isalnum() for char in token))


def caption_chars(text: str) -> int:
    """Characters of ``text`` with its whitespace runs collapsed to single spaces and its ends trimmed."""
    return len(" ".join(text.split()))


def aspect_ratio(width: int, height: int) -> float:
    """Long side over short side (1.0 for a square)."""
    return max(width, height) / min(width, height)


def dominant_color_fraction(image: Image.Image) -> float:
    """Share of pixels in the most common colour, after box-downscaling and quantising RGB."""
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BOX)
    levels = np.asarray(thumbnail) >> (8 - COLOR_BITS)
    codes = (levels[..., 0].astype(np.int32) << (2 * COLOR_BITS)) | (levels[..., 1].astype(np.int32) << COLOR_BITS) | levels[..., 2]
    return float(np.bincount(codes.ravel()).max() / codes.size)
