"""The ``transformers`` backend's generator: a local model folder, decoding constrained by xgrammar.

Each task's JSON schema is compiled once per worker into an xgrammar grammar over the model's
vocabulary; ``xgrammar.contrib.hf.LogitsProcessor`` masks, at every step, the tokens that would
leave the grammar, so a finished answer always parses and validates. Whitespace between JSON
tokens is not allowed (``any_whitespace=False``): a weak model would otherwise pad forever.
"""

from __future__ import annotations

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


class TransformersEngine:
    def __init__(self, folder: str, allow_untrained: bool, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        path = Path(folder)
        self.untrained = not has_weights(path)
        if self.untrained and not allow_untrained:
            raise ValueError(f"LLM folder {folder} holds no weights; set allow_untrained: true for a plumbing run")
        self.torch, self.device = torch, device
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"  # generation continues every row from its own end
        if self.untrained:
            torch.manual_seed(0)  # every worker builds the same random model
            self.model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path))
        else:
            self.model = AutoModelForCausalLM.from_pretrained(path)
        self.model.to(device).eval()
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
                    self.tokenizer, vocab_size=self.model.config.vocab_size, stop_token_ids=[self.stop_token_id]
                )
                self._compiler = xgr.GrammarCompiler(info)
            # compiled from the schema as written: properties keep their order in the answers
            self._grammars[key] = self._compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
        return self._grammars[key]

    def generate(
        self, conversations: list[list[dict]], schema: dict | None, *, max_new_tokens: int, temperature: float, seed: int
    ) -> list[Generation]:
        """One answer per conversation; constrained by ``schema`` unless it is None."""
        import xgrammar as xgr
        from transformers import LogitsProcessorList

        torch = self.torch
        prompts = [self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) for messages in conversations]
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
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


@lru_cache(maxsize=1)
def load_engine(folder: str, allow_untrained: bool, device: str = "cpu") -> TransformersEngine:
    """One engine per worker process (a model actor keeps it for its lifetime)."""
    return TransformersEngine(folder, allow_untrained, device)
