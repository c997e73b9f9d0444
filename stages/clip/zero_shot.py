"""Zero-shot figure-type labels: the image against text prompts of each type of the taxonomy.

Each type's prompts (``stages/figure_type/taxonomy.py``) are encoded once per actor, normalised,
averaged and normalised again (prompt ensembling). A sample's label is the type whose embedding
is closest to its image embedding; its confidence is that type's share of a softmax over all
types at the model's own logit scale. ``other``'s generic prompts ("a figure from a scientific
article") make it the catch-all class.
"""

from __future__ import annotations

import numpy as np

from stages.figure_type.taxonomy import TAXONOMY


class ZeroShotTypes:
    def __init__(self, model, tokenizer, device: str):
        import torch

        entries = [entry for entry in TAXONOMY if entry.clip_prompts]
        self.names = [entry.name for entry in entries]
        prompts = [prompt for entry in entries for prompt in entry.clip_prompts]
        with torch.inference_mode():
            features = model.encode_text(tokenizer(prompts).to(device), normalize=True).float().cpu().numpy()
            scale = model.logit_scale.exp().item() if hasattr(model, "logit_scale") else 100.0
        means, start = [], 0
        for entry in entries:
            mean = features[start : start + len(entry.clip_prompts)].mean(axis=0)
            means.append(mean / np.linalg.norm(mean))
            start += len(entry.clip_prompts)
        self.type_embeddings = np.stack(means)
        self.logit_scale = float(scale)

    def label(self, image_embeddings: np.ndarray) -> list[tuple[str, float]]:
        """(type, confidence) per normalised image embedding."""
        logits = self.logit_scale * image_embeddings @ self.type_embeddings.T
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1)
        return [(self.names[index], float(probabilities[row, index])) for row, index in enumerate(best)]
