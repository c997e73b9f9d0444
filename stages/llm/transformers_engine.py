"""The ``transformers`` backend's generator: a local model folder, decoding constrained by xgrammar.

A folder whose config has a ``vision_config`` (LLaVA, Qwen2-VL, ...) is a vision-language model:
its processor gets each record's image, placed before the text of the last user turn as the
``vllm`` and ``openai`` backends send it. Each task's JSON schema is compiled once per worker into an xgrammar grammar over the model's
vocabulary; ``xgrammar.contrib.hf.LogitsProcessor`` masks, at every step, the tokens that would
leave the grammar, so a finished answer always parses and validates. Whitespace between JSON
tokens is not allowed (``any_whitespace=False``): a weak model would otherwise pad forever.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt")


@dataclass(frozen=True)
class Generation:
    text: str
    tokens: int


def has_weights(folder: Path) -> bool:
    return any(any(folder.glob(pattern)) for pattern in WEIGHT_PATTERNS)


def is_vision_model(folder: str | Path) -> bool:
    from transformers import AutoConfig

    return getattr(AutoConfig.from_pretrained(folder), "vision_config", None) is not None


def with_image_part(messages: list[dict]) -> list[dict]:
    """The messages with an image placeholder before the text of the last user turn (the processor's form)."""
    last = messages[-1]
    return [*messages[:-1], {**last, "content": [{"type": "image"}, {"type": "text", "text": last["content"]}]}]


class TransformersEngine:
    def __init__(self, folder: str, allow_untrained: bool, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

        path = Path(folder)
        self.untrained = not has_weights(path)
        if self.untrained and not allow_untrained:
            raise ValueError(f"LLM folder {folder} holds no weights; set allow_untrained: true for a plumbing run")
        self.torch, self.device = torch, device
        self.vision = is_vision_model(path)
        self.processor = AutoProcessor.from_pretrained(path) if self.vision else None
        self.tokenizer = self.processor.tokenizer if self.vision else AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"  # generation continues every row from its own end
        auto = AutoModelForImageTextToText if self.vision else AutoModelForCausalLM
        if self.untrained:
            torch.manual_seed(0)  # every worker builds the same random model
            self.model = auto.from_config(AutoConfig.from_pretrained(path))
        else:
            self.model = auto.from_pretrained(path)
        self.model.to(device).eval()
        self.vocab_size = self.model.config.get_text_config().vocab_size
        self._compiler = None
        self._grammars: dict[str, object] = {}

    @property
    def stop_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    def grammar(self, schema: dict):
        import xgrammar as xgr

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            if self._compiler is None:
                info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=self.vocab_size, stop_token_ids=[self.stop_token_id]
                )
                self._compiler = xgr.GrammarCompiler(info)
            # compiled from the schema as written: properties keep their order in the answers
            self._grammars[key] = self._compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
        return self._grammars[key]

    def generate(
        self, conversations: list[list[dict]], schema: dict | None, *, max_new_tokens: int, temperature: float, seed: int,
        images: list[bytes] | None = None,
    ) -> list[Generation]:  # fmt: skip
        """One answer per conversation; constrained by ``schema`` unless it is None. A vision model
        needs ``images``, one (encoded bytes) per conversation."""
        import xgrammar as xgr
        from transformers import LogitsProcessorList

        torch = self.torch
        encoded = self._encode(conversations, images).to(self.device)
        processors = LogitsProcessorList([xgr.contrib.hf.LogitsProcessor(self.grammar(schema))] if schema is not None else [])
        sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0} if temperature > 0 else {"do_sample": False}
        if temperature > 0:
            torch.manual_seed(seed)
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                max_new_tokens=max_new_tokens,
                logits_processor=processors,
                eos_token_id=self.stop_token_id,
                pad_token_id=self.tokenizer.pad_token_id,
                **sampling,
            )
        results = []
        for row in output[:, encoded["input_ids"].shape[1] :].tolist():
            tokens = row[: row.index(self.stop_token_id)] if self.stop_token_id in row else row
            results.append(Generation(self.tokenizer.decode(tokens, skip_special_tokens=True), len(tokens)))
        return results


    def _encode(self, conversations: list[list[dict]], images: list[bytes] | None):
        if not self.vision:
            prompts = [self.tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in conversations]
            return self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        if images is None or len(images) != len(conversations):
            raise ValueError("a vision-language model needs one image per conversation")
        prompts = [self.processor.apply_chat_template(with_image_part(m), add_generation_prompt=True, tokenize=False) for m in conversations]
        return self.processor(text=prompts, images=[_rgb(image) for image in images], return_tensors="pt", padding=True, add_special_tokens=False)


def _rgb(image: bytes):
    from PIL import Image

    with Image.open(io.BytesIO(image)) as opened:
        return opened.convert("RGB")


@lru_cache(maxsize=1)
def load_engine(folder: str, allow_untrained: bool, device: str = "cpu") -> TransformersEngine:
    """One engine per worker process (a model actor keeps it for its lifetime)."""
    return TransformersEngine(folder, allow_untrained, device)
