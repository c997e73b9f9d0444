"""A tiny Llama-architecture model folder for plumbing runs and tests: no download, no weights.

The tokenizer is a byte-level BPE (every byte is a token, so any text round-trips) trained with a
few hundred merges on the short text below; the chat template is a plain
``<|role|> ... <|end|>`` format. ``configs/models/tiny-llama`` is this function's output, and the
model gets random weights at load time (``allow_untrained``), as the tiny CLIP does.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ["<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
# Fixed, so that the tokenizer (and configs/models/tiny-llama) never changes with the prompt wording.
TRAINING_TEXT = """
Article title: Findings in a small study. Figure 1. Caption: Axial chest CT showing bilateral ground-glass
opacities. Panel: the whole figure. Mentions in the text: Figure 1 shows the main result of the study.
Western blot of the protein in liver lysates with beta-actin as loading control; H&E staining of the liver.
Write the description as {"caption": "..."}. {"conversation": [{"question": "What is shown?", "answer":
"A section of the liver."}], "vqa": [{"kind": "closed", "question": "Is this a CT image?", "answer": "yes"}]}
{"informativeness": 4, "consistency": 5, "reason": "Every statement is supported by the source."}
"""
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def write_tiny_llama(folder: Path, vocab_size: int = 512, hidden_size: int = 64, layers: int = 2) -> Path:
    """Write config.json and a tokenizer (tokenizer.json, tokenizer_config.json) to ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([TRAINING_TEXT] * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<|pad|>", eos_token="<|end|>", bos_token=None, unk_token=None, chat_template=CHAT_TEMPLATE
    )
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    config.save_pretrained(folder)
    return folder
