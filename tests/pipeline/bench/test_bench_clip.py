"""``figcurate bench clip``: the production preprocess and scoring path, timed (the GPU check)."""

import pytest
import torch
from builders import TINY_CLIP

from pipeline.bench.clip import bench_clip, bench_images
from pipeline.cli import main


def test_bench_images_are_distinct_jpegs():
    images = bench_images(3, side=64)
    assert len(set(images)) == 3 and all(data[:3] == b"\xff\xd8\xff" for data in images)


def test_clip_bench_times_the_pool_the_model_and_both_together_on_cpu():
    result = bench_clip(images=12, model=f"local-dir:{TINY_CLIP}", batch_size=4, workers=1, device="cpu")
    assert (result["device"], result["images"], result["preprocess_workers"]) == ("cpu", 12, 1)
    assert result["model"].endswith("(random weights)")
    assert min(result["end_to_end_images_per_s"], result["preprocess_images_per_s"], result["model_images_per_s"]) > 0
    assert result["preprocess_images_per_s_per_worker"] == result["preprocess_images_per_s"]


def test_asking_for_cuda_without_a_device_is_a_clear_error(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(SystemExit, match="no CUDA device"):
        main(["bench", "clip", "--images", "4", "--device", "cuda", "--model", f"local-dir:{TINY_CLIP}"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_clip_bench_on_the_gpu_with_vit_b_16():
    result = bench_clip(images=1024, model="ViT-B-16", batch_size=256, workers=4)
    assert result["device"] != "cpu" and result["model_images_per_s"] > result["preprocess_images_per_s_per_worker"]
