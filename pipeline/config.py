"""Run configuration: one YAML file validated into pydantic models before anything starts.

Errors name the file, the dotted key and a hint; relative paths are taken from the directory
the command runs in.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from stages.base import StageSpec
from stages.registry import load_all


class ConfigError(Exception):
    """A config that must not run; the message lists every problem found."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSource(StrictModel):
    kind: Literal["local"] = "local"
    root: Path = Field(description="a local mirror of the bucket's per-version layout (with metadata/)")
    newest_version_only: bool = Field(True, description="take only the newest version of each article")
    max_articles: int | None = Field(None, ge=1, description="stop after this many article versions (in PMCID order)")

    @field_validator("root")
    @classmethod
    def _root_exists(cls, root: Path) -> Path:
        if not root.is_dir():
            raise ValueError(f"path does not exist or is not a folder: {root}")
        return root


class OutputConfig(StrictModel):
    path: Path = Field(description="output folder: shards/, index/, rejects/, stats.json")
    articles_per_shard: int = Field(200, ge=1, description="articles per work unit; each unit becomes one shard")
    splits: dict[str, float] = Field(
        {"train": 0.98, "validation": 0.01, "test": 0.01},
        description="split name -> share of articles, by a hash of the PMCID (no article in two splits)",
    )

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
    shuffle_strategy: Literal["sort_shuffle_pull_based", "hash_shuffle"] = Field(
        "sort_shuffle_pull_based",
        description="how records meet their work unit's writer; the sort shuffle runs as plain tasks, while the hash "
        "shuffle reserves CPUs for aggregator actors (measured 1.4x slower on a 2-core machine, suited to large clusters)",
    )


def _stages_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (stage.spec_type, stage.spec_type()) for name, stage in load_all().items() if stage.configurable
    }
    return create_model("StagesConfig", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


StagesConfig = _stages_model()


class RunConfig(StrictModel):
    name: str = Field("figcurate", pattern=r"^[A-Za-z0-9_.-]+$")
    source: LocalSource
    output: OutputConfig
    ray: RayConfig = RayConfig()
    stages: StagesConfig = StagesConfig()  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _required_stages_enabled(self) -> RunConfig:
        registry = load_all()
        for name, stage in registry.items():
            if stage.configurable and not stage.optional and not self.stage_spec(name).enabled:
                raise ValueError(f"stages.{name}.enabled: the stage {name!r} is required and cannot be disabled")
        return self

    def stage_spec(self, name: str) -> StageSpec:
        return getattr(self.stages, name)

    def with_overrides(self, *, output: Path | None = None, address: str | None = None) -> RunConfig:
        update: dict[str, Any] = {}
        if output is not None:
            update["output"] = self.output.model_copy(update={"path": output})
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
        raise ConfigError(format_errors(path, error)) from None


def format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} problem(s); nothing was run"]
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        key = ".".join(loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key{_hint_for_unknown(loc)}")
        elif item["type"] == "missing":
            lines.append(f"  {key}: required key is missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            given = item.get("input")
            shown = f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
            lines.append(f"  {key}: {message}{shown}")
    return "\n".join(lines)


def _hint_for_unknown(loc: tuple[str, ...]) -> str:
    siblings = _field_names_at(RunConfig, loc[:-1])
    if not siblings:
        return ""
    close = difflib.get_close_matches(loc[-1], siblings, n=1)
    if close:
        return f" (hint: did you mean {close[0]!r}?)"
    return f" (hint: allowed keys are {', '.join(sorted(siblings))})"


def _field_names_at(model: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
