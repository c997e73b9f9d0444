import json

from builders import fig, image_bytes, jats

from pipeline.cli import main


def test_figures_prints_one_json_line_per_figure_with_its_media(tmp_path, capsys):
    folder = tmp_path / "PMC1.1"
    folder.mkdir()
    body = f"<sec><p>See <xref ref-type=\"fig\" rid=\"F1\">Figure 1B</xref>.</p>{fig('F1', 'Figure 1', '<p>Cells of <italic>E. coli</italic> grew.</p>', 'a.g001')}{fig('F2', 'Figure 2', href='a.g002')}</sec>"
    (folder / "PMC1.1.xml").write_bytes(jats(body=body))
    (folder / "a.g001.jpg").write_bytes(image_bytes())
    (folder / "a.g001.gif").write_bytes(image_bytes(fmt="GIF"))  # the thumbnail, never chosen
    broken = tmp_path / "broken.nxml"
    broken.write_bytes(b"<article><body>")

    assert main(["figures", str(folder), str(broken)]) == 1  # one path failed
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first, second, error = lines
    assert (first["fig_id"], first["label"], first["caption"]) == ("F1", "Figure 1", "Cells of E. coli grew.")
    assert (first["media_file"], first["media_exists"], first["mention_panels"]) == ("a.g001.jpg", True, ["b"])
    assert first["mentions"] == ["See Figure 1B."]
    assert (second["fig_id"], second["media_file"], second["media_exists"]) == ("F2", "PMC1.1/a.g002.jpg", False)
    assert error["file"] == str(broken) and error["error"].startswith("xml_malformed")


def test_figures_exits_zero_when_every_path_parses(tmp_path, capsys):
    path = tmp_path / "one.xml"
    path.write_bytes(jats(body=f"<sec>{fig('F1', 'Figure 1', href='x')}</sec>"))
    assert main(["figures", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["fig_id"] == "F1"
