"""Loading an open_clip model, its eval transform and tokenizer, from the stage's settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class ClipModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        "hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224",
        description="open_clip model: a built-in name, 'hf-hub:org/repo' or 'local-dir:/path' (with open_clip_config.json)",
    )
    pretrained: str | None = Field(None, description="weights for a built-in name: a tag or a checkpoint path")
    allow_untrained: bool = Field(
        False, description="run without weights (random init): for plumbing checks only; outputs are marked untrained"
    )


def model_label(settings: ClipModelSettings, has_weights: bool) -> str:
    label = settings.model + (f"@{settings.pretrained}" if settings.pretrained else "")
    return label if has_weights else f"{label} (untrained)"


@lru_cache(maxsize=2)
def load(settings: ClipModelSettings, device: str = "cpu"):
    """(model, eval transform, tokenizer, has_weights), built once per worker process."""
    import open_clip

    has_weights = _has_weights(settings)
    if not has_weights and not settings.allow_untrained:
        raise ValueError(
            f"CLIP model {settings.model!r} has no weights; set pretrained, use an hf-hub: model, "
            "or allow_untrained: true for a plumbing run"
        )
    import torch

    if not has_weights:
        torch.manual_seed(0)  # every worker must build the same untrained model, or outputs would differ by worker
    model, _, transform = open_clip.create_model_and_transforms(settings.model, pretrained=settings.pretrained, device=device)
    model.eval()
    tokenizer = open_clip.get_tokenizer(settings.model)
    return model, transform, tokenizer, has_weights


def _has_weights(settings: ClipModelSettings) -> bool:
    from pathlib import Path

    if settings.model.startswith("hf-hub:"):
        return True
    if settings.model.startswith("local-dir:"):
        folder = Path(settings.model.removeprefix("local-dir:"))
        return any(folder.glob("*.safetensors")) or any(folder.glob("*.bin")) or any(folder.glob("*.pt"))
    return settings.pretrained is not None
