from pathlib import Path

from stages.llm.tiny_model import write_tiny_llama

SHIPPED = Path(__file__).resolve().parents[3] / "configs" / "models" / "tiny-llama"


def test_the_shipped_tiny_model_is_what_the_builder_writes(tmp_path):
    write_tiny_llama(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in SHIPPED.iterdir())
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (SHIPPED / path.name).read_bytes(), path.name


def test_the_tokenizer_round_trips_any_text_and_has_a_chat_template(tiny_llama):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    text = 'Ünïcode µm — {"caption": "x"}\n\t'
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|user|>\nHi<|end|>\n<|assistant|>\n"
    assert tokenizer.eos_token == "<|end|>" and tokenizer.pad_token == "<|pad|>"
