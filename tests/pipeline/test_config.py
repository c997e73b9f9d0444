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
    path = write_config(tmp_path, valid_body(mirror, tmp_path / "out", "stages: {polish_everything: {}}"))
    with pytest.raises(
        ConfigError, match=r"stages\.polish_everything: unknown key \(hint: allowed keys are .*fetch, fetch_media, figure_type, filters, images, llm, parse_jats"
    ) as error:
        load_config(path)
    assert "clip_preprocess" not in str(error.value)  # planned by clip_score, not configured


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
    (tmp_path / "configs" / "models").mkdir(parents=True)
    (tmp_path / "configs" / "models" / "tiny-llama").symlink_to(repo / "configs" / "models" / "tiny-llama")  # demo-models' LLM
    configs = sorted((repo / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        load_config(path)


def s3_body(out: Path, source: str) -> str:
    return f"""
    source: {{kind: pmc_s3, {source}}}
    output: {{path: {out}}}
    """


def test_pmc_s3_defaults_and_enumeration_choice(tmp_path):
    config = load_config(write_config(tmp_path, s3_body(tmp_path / "out", "licenses: commercial")))
    source = config.source
    assert (source.bucket, source.signed, source.endpoint_url, source.enumeration()) == ("pmc-oa-opendata", False, None, "inventory")
    assert source.article_selection().licenses == ("CC0", "CC BY", "CC BY-SA", "CC BY-ND")
    ids = tmp_path / "ids.txt"
    ids.write_text("PMC12  # a comment\n\n7\n")
    config = load_config(write_config(tmp_path, s3_body(tmp_path / "out", f"ids_file: {ids}, ids: [pmc3], licenses: [cc-by-nc, CC0]")))
    assert config.source.enumeration() == "list" and config.source.pmc_numbers() == [3, 12, 7]
    assert config.source.article_selection().licenses == ("CC BY-NC", "CC0")


def test_source_errors_name_the_key_without_the_union_tag(tmp_path):
    path = write_config(tmp_path, s3_body(tmp_path / "out", "bucket_name: x, ids: [PMCx], retries: {max_attempts: 0}, licenses: [CC-BY-QQ]"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "source.bucket_name: unknown key (hint: did you mean 'bucket'?)" in message
    assert "source.ids: not a PMCID: 'PMCx'" in message
    assert "source.retries.max_attempts: Input should be greater than or equal to 1" in message
    assert "source.licenses: unknown license codes ['CC-BY-QQ']" in message
    path = write_config(tmp_path, "source: {kind: s4}\noutput: {path: x}\n")
    with pytest.raises(ConfigError, match=r"source: kind must be one of local, pmc_s3, pmc_packages"):
        load_config(path)


def test_local_source_may_leave_out_its_kind(tmp_path, mirror):
    path = write_config(tmp_path, f"source: {{root: {mirror}}}\noutput: {{path: {tmp_path / 'out'}}}\n")
    assert load_config(path).source.kind == "local"


def test_pmc_packages_source(tmp_path):
    from pipeline.sources import describe, stage_context

    root = tmp_path / "packages"
    root.mkdir()
    body = f"source: {{kind: pmc_packages, root: {root}, ids: [PMC5, 7], licenses: noncommercial, max_package_bytes: 1000}}\noutput: {{path: {tmp_path / 'out'}}}\n"
    source = load_config(write_config(tmp_path, body)).source
    assert source.pmc_numbers() == [5, 7] and source.max_members == 10_000
    context = stage_context(source)
    assert (context.source_kind, context.package_max_bytes, context.source_root) == ("pmc_packages", 1000, str(root.resolve()))
    assert "CC BY-NC" in context.selection.licenses and describe(source) == {"kind": "pmc_packages", "root": str(root)}
    # selection that needs a metadata JSON does not exist for packages
    path = write_config(tmp_path, body.replace("licenses: noncommercial", "exclude_retracted: true, root_dir: x"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "source.exclude_retracted: unknown key" in str(error.value)
    assert "source.root_dir: unknown key (hint: did you mean 'root'?)" in str(error.value)
