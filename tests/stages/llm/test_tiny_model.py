import json
from pathlib import Path

from stages.llm.tiny_model import write_tiny_llama

SHIPPED = Path(__file__).resolve().parents[3] / "configs" / "models" / "tiny-llama"


def bpe_merges(folder: Path) -> list:
    return json.loads((folder / "tokenizer.json").read_text())["model"]["merges"]


def architecture(config) -> dict:
    """The config without what says who wrote or loaded it (the writer's version, the folder)."""
    return {key: value for key, value in config.to_dict().items() if key not in ("transformers_version", "_name_or_path")}


def test_the_shipped_tiny_model_is_what_the_builder_writes(tmp_path):
    """Same architecture, parameters and tokenizer; not the same bytes, which carry the writer's version."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    write_tiny_llama(tmp_path)
    built, shipped = (architecture(AutoConfig.from_pretrained(folder)) for folder in (tmp_path, SHIPPED))
    assert built == shipped and shipped["model_type"] == "llama"

    def parameter_shapes(folder):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder), dtype=torch.float32)
        return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}

    assert parameter_shapes(tmp_path) == parameter_shapes(SHIPPED)

    built_tokenizer, shipped_tokenizer = (AutoTokenizer.from_pretrained(folder) for folder in (tmp_path, SHIPPED))
    assert built_tokenizer.get_vocab() == shipped_tokenizer.get_vocab()
    assert built_tokenizer.all_special_tokens == shipped_tokenizer.all_special_tokens
    assert built_tokenizer.chat_template == shipped_tokenizer.chat_template
    assert bpe_merges(tmp_path) == bpe_merges(SHIPPED)
    text = "Axial CT of the liver, {\"caption\": \"µm\"}"
    assert built_tokenizer(text)["input_ids"] == shipped_tokenizer(text)["input_ids"]


def test_the_tokenizer_round_trips_any_text_and_has_a_chat_template(tiny_llama):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    text = 'Ünïcode µm — {"caption": "x"}\n\t'
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|user|>\nHi<|end|>\n<|assistant|>\n"
    assert tokenizer.eos_token == "<|end|>" and tokenizer.pad_token == "<|pad|>"
