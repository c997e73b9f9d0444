import pytest

from stages.io.source_local import SourceError, list_article_versions


def mirror(tmp_path, names):
    (tmp_path / "metadata").mkdir()
    for name in names:
        (tmp_path / "metadata" / name).write_text("{}")
    return tmp_path


def test_newest_version_only_sorted_numerically(tmp_path):
    root = mirror(tmp_path, ["PMC10.1.json", "PMC9.1.json", "PMC9.2.json", "PMC100.3.json", "README.txt"])
    assert [v.prefix for v in list_article_versions(root)] == ["PMC9.2", "PMC10.1", "PMC100.3"]
    assert [v.prefix for v in list_article_versions(root, newest_only=False)] == ["PMC9.1", "PMC9.2", "PMC10.1", "PMC100.3"]
    assert [v.prefix for v in list_article_versions(root, max_articles=2)] == ["PMC9.2", "PMC10.1"]


def test_not_a_mirror(tmp_path):
    with pytest.raises(SourceError, match="no metadata/ folder"):
        list_article_versions(tmp_path)
