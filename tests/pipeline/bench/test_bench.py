from pipeline.bench.parts import bench_shards
from pipeline.cli import main


def test_shard_bench_figures_are_consistent(tmp_path):
    result = bench_shards(samples=20, side=64, repeats=1, directory=tmp_path)
    assert result["samples"] == 20
    assert result["shard_bytes"] > 20 * 1000 and result["write_mb_per_s"] > 0 and result["verify_mb_per_s"] > 0
    per_sample_mb = result["shard_bytes"] / 1e6 / 20
    assert abs(result["samples_per_s_written"] * per_sample_mb - result["write_mb_per_s"]) / result["write_mb_per_s"] < 0.1
    assert list(tmp_path.iterdir()) == []  # the bench cleans up after itself



def test_bench_fetch_reports_each_concurrency_level(capsys):
    assert main(["bench", "fetch", "--objects", "12", "--size-kb", "4", "--concurrency", "1", "3"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("concurrency")]
    assert [line.split(":")[0].split()[-1] for line in lines] == ["1", "3"]
    for line in lines:
        objects_per_s = float(line.split(":")[1].split()[0])
        assert objects_per_s > 0 and "(12 x 4 KiB" in line


def test_dedup_bench_finds_what_it_planted(ray_local):
    from pipeline.bench.parts import bench_dedup

    (result,) = bench_dedup((3000,), duplicate_share=0.1, seed=2)
    assert result["hashes"] == 3000 and result["duplicates_planted"] == 300
    # half the copies are exact, half one bit off their source's plain hash: each makes one loser
    assert result["duplicates_found"] == {"duplicate_exact": 150, "duplicate_near": 150}
    assert result["peak_rss_driver_mb"] > 0 and result["hashes_per_s"] > 0


def test_memory_of_a_process_tree_that_has_ended_is_zero_not_an_error():
    """The peak sampler's thread reads the tree while the run ends: a gone root counts nothing."""
    import subprocess
    import sys

    import psutil

    from pipeline.bench.parts import PeakMemory, _tree_rss

    process = psutil.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"], stdout=subprocess.DEVNULL)
    with PeakMemory(process, every_s=0.01) as peaks:
        assert _tree_rss(process) > 0
        process.wait()
    assert _tree_rss(process) == 0
    assert peaks.all >= 0
