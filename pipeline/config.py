"""Run configuration: one YAML file validated into pydantic models before anything starts.

Errors name the file, the dotted key and a hint; relative paths are taken from the directory
the command runs in.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from pipeline.flow import STAGES
from stages.io.output_location import OutputTarget
from stages.io.s3_store import PMC_BUCKET
from stages.parse_jats.licenses import KNOWN, normalise_license
from stages.runtime.base import StageSpec
from stages.runtime.context import ArticleSelection


class ConfigError(Exception):
    """A config that must not run; the message lists every problem found."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# License policies by name; trainers filter again on each sample's license.
LICENSE_POLICIES: dict[str, tuple[str, ...] | None] = {
    "commercial": ("CC0", "CC BY", "CC BY-SA", "CC BY-ND"),
    "noncommercial": ("CC0", "CC BY", "CC BY-SA", "CC BY-ND", "CC BY-NC", "CC BY-NC-SA", "CC BY-NC-ND"),
    "all": None,
}


class LicensePolicy(StrictModel):
    """The license part of the article selection (the only part a source without metadata JSON can apply)."""

    licenses: Literal["commercial", "noncommercial", "all"] | list[str] = Field(
        "all", description="commercial (CC0, CC BY, CC BY-SA, CC BY-ND), noncommercial (adds the NC variants), all, "
        f"or a list of license codes from {', '.join(KNOWN)}, other, unknown",
    )

    @field_validator("licenses")
    @classmethod
    def _known_codes(cls, value):
        if isinstance(value, list):
            allowed = set(KNOWN) | {"other", "unknown"}
            normalised = [code if code in allowed else normalise_license(code) for code in value]
            bad = [raw for raw, code in zip(value, normalised) if code not in allowed or code in ("other", "unknown") and raw not in allowed]
            if bad or not value:
                raise ValueError(f"unknown license codes {bad}; use codes from {', '.join(KNOWN)}, other, unknown")
            return normalised
        return value

    def license_codes(self) -> tuple[str, ...] | None:
        return tuple(self.licenses) if isinstance(self.licenses, list) else LICENSE_POLICIES[self.licenses]

    def article_selection(self) -> ArticleSelection:
        return ArticleSelection(licenses=self.license_codes())


class SelectionConfig(LicensePolicy):
    """Selection that needs each article's metadata JSON: applied (and counted as drops) by the fetch stage."""

    exclude_retracted: bool = Field(False, description="drop articles whose metadata says is_retracted")
    exclude_manuscripts: bool = Field(False, description="drop author manuscripts (is_manuscript)")
    exclude_historical_ocr: bool = Field(False, description="drop historical OCR scans (is_historical_ocr)")

    def article_selection(self) -> ArticleSelection:
        return ArticleSelection(
            licenses=self.license_codes(),
            exclude_retracted=self.exclude_retracted,
            exclude_manuscripts=self.exclude_manuscripts,
            exclude_historical_ocr=self.exclude_historical_ocr,
        )


def _existing_folder(root: Path) -> Path:
    if not root.is_dir():
        raise ValueError(f"path does not exist or is not a folder: {root}")
    return root


class LocalSource(SelectionConfig):
    kind: Literal["local"] = "local"
    root: Path = Field(description="a local mirror of the bucket's per-version layout (with metadata/)")
    newest_version_only: bool = Field(True, description="take only the newest version of each article")
    max_articles: int | None = Field(None, ge=1, description="stop after this many article versions (in PMCID order)")

    @field_validator("root")
    @classmethod
    def _root_exists(cls, root: Path) -> Path:
        return _existing_folder(root)


class RetryConfig(StrictModel):
    max_attempts: int = Field(5, ge=1, le=20, description="attempts per request, the first included")
    base_delay_s: float = Field(0.2, ge=0, description="backoff before retry n is uniform in [0, min(max_delay_s, base_delay_s * 2**n)]")
    max_delay_s: float = Field(10.0, ge=0, description="cap of one backoff")


class IdSelection(StrictModel):
    """An optional list of PMCIDs to run, inline or in a file."""

    ids: list[str | int] | None = Field(None, description="only these PMCIDs (PMC123 or 123)")
    ids_file: Path | None = Field(None, description="a text file of PMCIDs, one a line (# comments)")

    @field_validator("ids")
    @classmethod
    def _pmcids(cls, ids):
        if ids is not None:
            from stages.io.source_s3 import parse_pmcid

            [parse_pmcid(str(item)) for item in ids]
        return ids

    @field_validator("ids_file")
    @classmethod
    def _ids_file_exists(cls, path):
        if path is not None and not path.is_file():
            raise ValueError(f"file does not exist: {path}")
        return path

    def pmc_numbers(self) -> list[int] | None:
        from stages.io.source_s3 import parse_pmcid

        if self.ids is None and self.ids_file is None:
            return None
        numbers = [parse_pmcid(str(item)) for item in self.ids or []]
        if self.ids_file is not None:
            for number, line in enumerate(self.ids_file.read_text(encoding="utf-8").splitlines(), start=1):
                text = line.split("#", 1)[0].strip()
                if text:
                    try:
                        numbers.append(parse_pmcid(text))
                    except ValueError as error:
                        raise ValueError(f"{self.ids_file}:{number}: {error}") from None
        return numbers


class PmcS3Source(SelectionConfig, IdSelection):
    kind: Literal["pmc_s3"]
    bucket: str = Field(PMC_BUCKET, description="the bucket holding the per-version layout")
    endpoint_url: str | None = Field(None, description="another S3 endpoint (a mirror, a test server); null is AWS")
    signed: bool = Field(False, description="sign requests with the standard boto3 credential chain (never put credentials here)")
    prefix: str | None = Field(None, description="only versions whose metadata key starts with metadata/<prefix> (e.g. PMC12)")
    enumerate: Literal["inventory", "list"] | None = Field(
        None, description="inventory (the bucket's daily S3 Inventory) or list (ListObjectsV2); default: inventory "
        "for full runs, list when ids, ids_file or prefix is given",
    )
    newest_version_only: bool = Field(True, description="take only the newest version of each article; false takes all")
    max_articles: int | None = Field(None, ge=1, description="stop after this many article versions (in PMCID order)")
    timeout_s: float = Field(30.0, gt=0, description="connect and read timeout of one request")
    retries: RetryConfig = RetryConfig()

    @field_validator("prefix")
    @classmethod
    def _prefix_shape(cls, prefix):
        if prefix is not None and not re.fullmatch(r"PMC\d*(\.\d*)?", prefix):
            raise ValueError("expected the start of a metadata name such as PMC12 or PMC123.2")
        return prefix

    def enumeration(self) -> str:
        if self.enumerate is not None:
            return self.enumerate
        return "list" if (self.ids is not None or self.ids_file is not None or self.prefix) else "inventory"


class PmcPackagesSource(LicensePolicy, IdSelection):
    """A local mirror of PMC's old FTP packages, ``oa_package/xx/yy/PMC<id>.tar.gz``, read without extracting."""

    kind: Literal["pmc_packages"]
    root: Path = Field(description="a folder searched recursively for PMC<id>.tar.gz packages")
    max_articles: int | None = Field(None, ge=1, description="stop after this many packages (in PMCID order)")
    max_members: int = Field(10_000, ge=1, description="members one package may hold; more is a package_too_large drop")
    max_package_bytes: int = Field(
        4 * 1024**3, ge=1, description="uncompressed bytes of all members of one package; reading stops there (package_too_large)",
    )

    @field_validator("root")
    @classmethod
    def _root_exists(cls, root: Path) -> Path:
        return _existing_folder(root)


def _source_kind(value: Any) -> str | None:
    # ``kind`` may be left out for a local mirror, as before sources had kinds.
    return value.get("kind", "local") if isinstance(value, dict) else getattr(value, "kind", None)


SOURCES: dict[str, type[StrictModel]] = {"local": LocalSource, "pmc_s3": PmcS3Source, "pmc_packages": PmcPackagesSource}
Source = Annotated[
    Annotated[LocalSource, Tag("local")] | Annotated[PmcS3Source, Tag("pmc_s3")] | Annotated[PmcPackagesSource, Tag("pmc_packages")],
    Discriminator(_source_kind, custom_error_type="source_kind", custom_error_message=f"kind must be one of {', '.join(SOURCES)}"),
]


class OutputConfig(StrictModel):
    path: str = Field(description="output folder, or s3://bucket/prefix: shards/, index/, rejects/, stats.json, ...")
    endpoint_url: str | None = Field(None, description="S3 endpoint for an s3:// output (another provider, a test server)")
    signed: bool = Field(True, description="sign S3 output requests with the standard boto3 credential chain")
    articles_per_shard: int = Field(200, ge=1, description="articles per work unit; each unit becomes one shard")
    window_units: int = Field(
        16, ge=1, description="work units per window: the run passes through its units a window at a time, each "
        "window fully written (shards, index, rejects, unit records) before the next starts, so a crash loses at most "
        "the window in flight and memory holds one window's records; model actors start once per window",
    )
    splits: dict[str, float] = Field(
        {"train": 0.98, "validation": 0.01, "test": 0.01},
        description="split name -> share of articles, by a hash of the PMCID (no article in two splits)",
    )

    def target(self) -> OutputTarget:
        """Where workers write: the folder made absolute (relative paths are taken from the current folder)."""
        uri = self.path if self.path.startswith("s3://") else str(Path(self.path).resolve())
        return OutputTarget(uri=uri, endpoint_url=self.endpoint_url, signed=self.signed)

    @field_validator("splits")
    @classmethod
    def _splits_sum_to_one(cls, splits: dict[str, float]) -> dict[str, float]:
        if not splits or any(share < 0 for share in splits.values()) or abs(sum(splits.values()) - 1) > 1e-6:
            raise ValueError(f"split shares must be non-negative and sum to 1 (got {sum(splits.values()):g})")
        if any(not name.replace("_", "").isalnum() for name in splits):
            raise ValueError("split names may hold only letters, digits and _")
        return splits


class RayConfig(StrictModel):
    address: str | None = Field(None, description="join this Ray cluster (e.g. 'auto', 'ray://host:10001'); null starts a local one")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local Ray instance; null uses the machine's")
    object_store_memory: int | None = Field(None, ge=78_643_200, description="bytes for the local object store")
    block_articles: int = Field(
        25, ge=1, description="article versions a block holds (fewer where a window is too small to give every CPU two "
        "blocks); one task takes a block through the CPU stages. Larger blocks "
        "spread each task's fixed costs over more figures, smaller ones hold fewer decoded images at once (about 2.5 figures an "
        "article, each up to images.max_side squared times 3 bytes). 600 generated articles on 2 cores: 12 a block 29-31 s, "
        "25 26-27 s, 50 the same",
    )
    shuffle_strategy: Literal["sort_shuffle_pull_based", "hash_shuffle"] = Field(
        "sort_shuffle_pull_based",
        description="how dedup's grouped engine (windows above its in-process limit) shuffles hashes; the sort shuffle runs as "
        "plain tasks, while the hash shuffle reserves CPUs for aggregator actors (measured 1.4x slower on a 2-core machine, suited to large clusters)",
    )


def _stages_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (stage.spec_type, stage.spec_type()) for name, stage in STAGES.items() if stage.configurable
    }
    return create_model("StagesConfig", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


StagesConfig = _stages_model()


class RunConfig(StrictModel):
    name: str = Field("figcurate", pattern=r"^[A-Za-z0-9_.-]+$")
    source: Source
    output: OutputConfig
    ray: RayConfig = RayConfig()
    stages: StagesConfig = StagesConfig()  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _required_stages_enabled(self) -> RunConfig:
        for name, stage in STAGES.items():
            if stage.configurable and not stage.optional and not self.stage_spec(name).enabled:
                raise ValueError(f"stages.{name}.enabled: the stage {name!r} is required and cannot be disabled")
        return self

    def stage_spec(self, name: str) -> StageSpec:
        return getattr(self.stages, name)

    def with_overrides(self, *, output: Path | None = None, address: str | None = None) -> RunConfig:
        update: dict[str, Any] = {}
        if output is not None:
            update["output"] = self.output.model_copy(update={"path": str(output)})
        if address is not None:
            update["ray"] = self.ray.model_copy(update={"address": address})
        return self.model_copy(update=update)


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys (name, source, output, ray, stages)")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as error:
        source = data.get("source")
        kind = source.get("kind") if isinstance(source, dict) else None
        raise ConfigError(format_errors(path, error, kind)) from None


def format_errors(path: Path, error: ValidationError, kind: str | None = None) -> str:
    lines = [f"{path}: {error.error_count()} problem(s); nothing was run"]
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        if loc[:1] == ("source",) and len(loc) > 1 and loc[1] in SOURCES:
            loc = loc[:1] + loc[2:]  # the union's tag is not a key the operator wrote
        key = ".".join(loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key{_hint_for_unknown(loc, kind)}")
        elif item["type"] == "missing":
            lines.append(f"  {key}: required key is missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            given = item.get("input")
            shown = f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
            lines.append(f"  {key}: {message}{shown}")
    return "\n".join(lines)


def _hint_for_unknown(loc: tuple[str, ...], kind: str | None) -> str:
    siblings = _field_names_at(RunConfig, loc[:-1], kind)
    if not siblings:
        return ""
    close = difflib.get_close_matches(loc[-1], siblings, n=1)
    if close:
        return f" (hint: did you mean {close[0]!r}?)"
    return f" (hint: allowed keys are {', '.join(sorted(siblings))})"


def _field_names_at(model: type[BaseModel], loc: tuple[str, ...], kind: str | None = None) -> list[str]:
    for position, part in enumerate(loc):
        if position == 0 and part == "source" and model is RunConfig:
            model = SOURCES.get(kind or "local", LocalSource)
            continue
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
