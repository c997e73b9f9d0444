"""Image hashes for deduplication: sha256 of normalised pixels (exact) and 64-bit DCT hashes (near).

The perceptual hash is the classic pHash: grey, 32x32, 2-D DCT, the 8x8 lowest frequencies
compared with their median (the DC term left out of the median, which it would dominate). It
survives re-encoding and resizing (at most 6 of 64 bits change on generated figures) but not
cropping: a 5% crop moves it by up to 26 bits, as far as unrelated figures. So each image also
gets *probe* hashes of a few crops of itself (corners and edges, 2.5% and 5%): a cropped copy is
close to one of its original's probes (at most 10 bits measured). Two images are near when the
closest pair of their hash sets is within the threshold.
"""

from __future__ import annotations

import hashlib
import itertools
from functools import lru_cache

import numpy as np
from PIL import Image

HASH_BITS = 64
_SIDE = 32
_LOW = 8


def pixel_sha256(image: Image.Image) -> str:
    """The same picture in any container or encoder settings that decode to the same RGB pixels."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II basis of size 32 (rows: frequencies)."""
    n = np.arange(_SIDE)
    basis = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * _SIDE)) * np.sqrt(2 / _SIDE)
    basis[0] /= np.sqrt(2)
    return basis


def phash64(image: Image.Image) -> int:
    return _phashes([image.convert("L")])[0]


def _phashes(greys: list[Image.Image]) -> list[int]:
    """pHashes of grey images."""
    return _grid_hashes(np.stack([np.asarray(grey.resize((_SIDE, _SIDE), Image.Resampling.BOX), dtype=np.float64) for grey in greys]))


def _grid_hashes(grids: np.ndarray) -> list[int]:
    """pHashes of (n, 32, 32) grey grids: their DCTs and medians in one array operation."""
    low_rows = _dct_matrix()[:_LOW]  # only the lowest frequencies are kept: a quarter of the products
    low = (low_rows @ grids @ low_rows.T).reshape(len(grids), _LOW * _LOW)
    bits = low > np.median(low[:, 1:], axis=1, keepdims=True)
    return [int(value) for value in np.packbits(bits, axis=1).view(">u8")[:, 0]]


# (left, top, right, bottom) fractions cut before hashing; the first, no cut, is the image's own hash.
PROBE_CROPS = (
    (0.0, 0.0, 0.0, 0.0),
    (0.0125, 0.0125, 0.0125, 0.0125),
    (0.025, 0.025, 0.025, 0.025),
    (0.05, 0.05, 0.0, 0.0),
    (0.0, 0.05, 0.05, 0.0),
    (0.05, 0.0, 0.0, 0.05),
    (0.0, 0.0, 0.05, 0.05),
    (0.05, 0.0, 0.0, 0.0),
    (0.0, 0.05, 0.0, 0.0),
    (0.0, 0.0, 0.05, 0.0),
    (0.0, 0.0, 0.0, 0.05),
)
_PROBE_SIDE = 256  # crops are cut from a grey thumbnail of this size: 4x faster, same hashes within a bit or two


def probe_hashes(image: Image.Image) -> list[int]:
    """The image's pHash followed by the pHashes of its ``PROBE_CROPS``."""
    grey = image.convert("L")
    grey.thumbnail((_PROBE_SIDE, _PROBE_SIDE), Image.Resampling.BOX)
    width, height = grey.size
    boxes = [(round(left * width), round(top * height), width - round(right * width), height - round(bottom * height)) for left, top, right, bottom in PROBE_CROPS]
    # each crop's 32x32 grid side by side in one strip, read into numpy at once
    strip = Image.new("L", (_SIDE * len(boxes), _SIDE))
    for index, box in enumerate(boxes):
        strip.paste(grey.resize((_SIDE, _SIDE), Image.Resampling.BOX, box=box), (index * _SIDE, 0))
    grids = np.asarray(strip, dtype=np.float64).reshape(_SIDE, len(boxes), _SIDE).transpose(1, 0, 2)
    return _grid_hashes(grids)


_POPCOUNT = np.array([value.bit_count() for value in range(256)], dtype=np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit differences between uint64 hashes, broadcast like ``a ^ b``."""
    xor = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    return _POPCOUNT[xor[..., None].view(np.uint8)].sum(axis=-1, dtype=np.int64)


def band_values(hashes: np.ndarray, bands: int) -> np.ndarray:
    """Split each 64-bit hash into ``bands`` contiguous bit ranges; returns (n, bands) ints.

    Two hashes within Hamming distance d agree exactly on at least one band whenever bands > d
    (pigeonhole), so bands = threshold + 1 finds every near pair; fewer, wider bands find most
    of them with far fewer candidates.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    edges = np.linspace(0, HASH_BITS, bands + 1).round().astype(int)
    columns = []
    for low, high in itertools.pairwise(edges):
        mask = np.uint64((1 << int(high - low)) - 1)
        columns.append((hashes >> np.uint64(low)) & mask)
    return np.stack(columns, axis=-1).astype(np.int64) if columns else np.empty((len(hashes), 0), np.int64)
