import pytest

from pipeline.bench.parse import bench_parse, classify
from pipeline.evaluation.evaluate import REALDATA_PMC as REALDATA


def test_classify_names_how_captions_differ():
    assert classify("A  caption.", "A caption.") is None
    assert classify("growth of E. coli was slow", "growth ofE. coliwas slow") == "glued_words"
    assert classify("Title. First paragraph. Second paragraph.", "First paragraph. Second paragraph.") == "text_dropped"
    assert classify("Effect of tKCN here.", "Effect of here.") == "text_differs"


def test_bench_parse_on_the_real_files_reports_both_parsers(tmp_path):
    if not REALDATA.is_dir():
        pytest.skip(f"{REALDATA} is absent")
    pytest.importorskip("pubmed_parser")
    report = bench_parse(REALDATA, repeat=1)
    assert report["files"] == 8
    assert report["figcurate"]["figures"] >= 21  # the real files hold 21 figures; none may be lost
    assert report["pubmed_parser"]["figures"] > 0 and report["speed_ratio"] > 0
    kinds = {item["kind"] for item in report["disagreements"]["items"]}
    assert kinds <= {"figure_missing", "glued_words", "text_dropped", "text_differs"}
    assert report["disagreements"]["count"] == len(report["disagreements"]["items"])


def test_bench_parse_refuses_a_folder_without_xml(tmp_path):
    with pytest.raises(SystemExit, match="no .xml/.nxml files"):
        bench_parse(tmp_path)
