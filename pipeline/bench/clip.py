"""``figcurate bench clip``: CLIP scoring throughput end to end from JPEG bytes, the GPU check.

The production path in this process: ``clip_preprocess`` (decode, resize, crop, to a float16
tensor) in a pool of CPU processes, as Ray's CPU tasks run it, feeding batches to ``clip_score``'s
``encode`` (image and text towers, bf16 autocast on CUDA) on the device. The model is a built-in
open_clip architecture with random weights (nothing is downloaded): the arithmetic is a trained
model's, the scores are not. Reported: end-to-end images/s (the pool and the model overlapping,
as in a run), and each side alone, so the slower one shows. The issue's target for ViT-B-16 on
one H100 is 3,000 images/s end to end.
"""

from __future__ import annotations

import io
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

from stages.clip.model import ClipModelSettings

CAPTION = "Axial chest CT showing bilateral peripheral ground-glass opacities in both lower lobes."


def bench_images(count: int, side: int = 512, seed: int = 0) -> list[bytes]:
    """JPEG bytes of textured pictures at the pipeline's normalised size (``images.max_side``)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
    out = []
    for index in range(count):
        picture = Image.fromarray(np.roll(base, index, axis=1)).resize((side, side * 3 // 4), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


_PREPROCESS = []


def _start_worker(model: str) -> None:
    from stages.clip.preprocess import ClipPreprocess, ClipPreprocessSpec
    from stages.runtime.context import StageContext

    _PREPROCESS.append(ClipPreprocess(ClipPreprocessSpec(clip=ClipModelSettings(model=model, allow_untrained=True)), StageContext()))


def _preprocess(chunk: list[bytes]) -> list[dict]:
    return [next(iter(_PREPROCESS[0].process({"image": data}))) for data in chunk]


def bench_clip(images: int = 2048, model: str = "ViT-B-16", batch_size: int = 256, workers: int = 2, device: str | None = None) -> dict:
    import torch

    from stages.clip.score import ClipScore, ClipScoreSpec
    from stages.runtime.context import StageContext

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("figcurate bench clip: --device cuda but torch sees no CUDA device")
    spec = ClipScoreSpec(enabled=True, clip=ClipModelSettings(model=model, allow_untrained=True), batch_size=batch_size,
                         num_gpus=1.0 if device == "cuda" else 0.0)  # fmt: skip
    scorer = ClipScore(spec, StageContext())
    payloads = bench_images(images)
    chunks = [payloads[start : start + batch_size] for start in range(0, len(payloads), batch_size)]
    # spawned, not forked: a child forked from a process whose torch has started its threads can hang
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(model,)) as pool:
        list(pool.map(_preprocess, [chunk[:1] for chunk in chunks[: workers * 2]]))  # every worker has loaded its transform
        started = time.perf_counter()
        prepared = [[{**row, "caption": CAPTION} for row in rows] for rows in pool.map(_preprocess, chunks)]
        preprocess_s = time.perf_counter() - started
        scorer.encode(prepared[0][:8])  # warm the device (kernels, autocast)
        _synchronise(torch, device)
        started = time.perf_counter()
        for rows in prepared:
            scorer.encode(rows)
        _synchronise(torch, device)
        model_s = time.perf_counter() - started
        started = time.perf_counter()
        for rows in pool.map(_preprocess, chunks):  # the pool works ahead while the device scores
            scorer.encode([{**row, "caption": CAPTION} for row in rows])
        _synchronise(torch, device)
        end_to_end_s = time.perf_counter() - started
    return {
        "bench": "clip",
        "model": f"{model} (random weights)",
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "images": images,
        "batch_size": batch_size,
        "preprocess_workers": workers,
        "end_to_end_images_per_s": round(images / end_to_end_s, 1),
        "preprocess_images_per_s": round(images / preprocess_s, 1),
        "preprocess_images_per_s_per_worker": round(images / preprocess_s / workers, 1),
        "model_images_per_s": round(images / model_s, 1),
    }


def _synchronise(torch, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
