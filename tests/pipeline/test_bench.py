from pipeline.cli import main


def test_bench_fetch_reports_each_concurrency_level(capsys):
    assert main(["bench", "fetch", "--objects", "12", "--size-kb", "4", "--concurrency", "1", "3"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("concurrency")]
    assert [line.split(":")[0].split()[-1] for line in lines] == ["1", "3"]
    for line in lines:
        objects_per_s = float(line.split(":")[1].split()[0])
        assert objects_per_s > 0 and "(12 x 4 KiB" in line
