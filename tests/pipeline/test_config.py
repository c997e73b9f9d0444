import textwrap
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import ConfigError, load_config


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    (root / "metadata").mkdir(parents=True)
    return root


def valid_body(root: Path, out: Path, extra: str = "") -> str:
    return f"""
    name: t
    source: {{kind: local, root: {root}}}
    output: {{path: {out}}}
    {extra}
    """


def test_valid_config_fills_defaults(tmp_path, mirror):
    config = load_config(write_config(tmp_path, valid_body(mirror, tmp_path / "out")))
    assert config.stage_spec("images").max_side == 1024
    assert config.stage_spec("fetch").verify_md5 is True
    assert config.output.articles_per_shard == 200


def test_unknown_key_names_key_file_and_hint(tmp_path, mirror):
    path = write_config(tmp_path, valid_body(mirror, tmp_path / "out", "stages: {images: {max_sid: 10}}"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message
    assert "stages.images.max_sid: unknown key" in message
    assert "did you mean 'max_side'" in message


def test_unknown_stage_lists_allowed(tmp_path, mirror):
    path = write_config(tmp_path, valid_body(mirror, tmp_path / "out", "stages: {dedupe_everything: {}}"))
    with pytest.raises(ConfigError, match=r"stages\.dedupe_everything: unknown key \(hint: allowed keys are fetch, fetch_media, images, parse_jats, subcaptions, subfigures\)"):
        load_config(path)


def test_wrong_type_names_key_and_value(tmp_path, mirror):
    path = write_config(tmp_path, valid_body(mirror, tmp_path / "out", "stages: {images: {max_side: big}}"))
    with pytest.raises(ConfigError, match=r"stages\.images\.max_side: Input should be a valid integer.*\(got 'big'\)"):
        load_config(path)


def test_missing_input_path(tmp_path):
    path = write_config(tmp_path, valid_body(tmp_path / "nowhere", tmp_path / "out"))
    with pytest.raises(ConfigError, match=r"source\.root: path does not exist or is not a folder: .*nowhere"):
        load_config(path)


def test_missing_required_section_and_required_stage(tmp_path, mirror):
    path = write_config(tmp_path, f"source: {{root: {mirror}}}\nstages: {{fetch: {{enabled: false}}}}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "output: required key is missing" in str(error.value)


def test_required_stage_cannot_be_disabled(tmp_path, mirror):
    path = write_config(tmp_path, valid_body(mirror, tmp_path / "out", "stages: {parse_jats: {enabled: false}}"))
    with pytest.raises(ConfigError, match="stages.parse_jats.enabled: the stage 'parse_jats' is required"):
        load_config(path)


def test_not_a_mapping_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write_config(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write_config(tmp_path, "a: [1, 2\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_cli_validate_exit_codes(tmp_path, mirror, capsys):
    good = write_config(tmp_path, valid_body(mirror, tmp_path / "out"))
    assert main(["validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: t\nsource: {{root: {mirror}}}\noutput: {{path: x}}\nray: {{num_cpu: 2}}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "ray.num_cpu: unknown key (hint: did you mean 'num_cpus'?)" in err


def test_cli_run_refuses_invalid_config_before_starting_anything(tmp_path, capsys):
    bad = write_config(tmp_path, valid_body(tmp_path / "missing", tmp_path / "out"))
    assert main(["run", str(bad)]) == 2
    assert not (tmp_path / "out").exists()


def test_shipped_configs_validate(tmp_path, monkeypatch):
    """Every YAML in configs/ validates once the paths it names exist."""
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "demo-corpus" / "metadata").mkdir(parents=True)
    configs = sorted((repo / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        load_config(path)
