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


# The tiny Llama's template, with OpenAI-style content parts: an image part becomes LLaVA's <image>.
VISION_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def write_tiny_llava(folder: Path, image_size: int = 32, patch_size: int = 8) -> Path:
    """A tiny LLaVA folder (a model family vLLM serves too): a one-layer CLIP vision tower on
    ``image_size`` pixels, a projector, and the tiny Llama as its language model; config and
    processor only, random weights at load time (``allow_untrained``)."""
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaProcessor

    write_tiny_llama(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})
    # "default": the vision tower's CLS feature is left out, so an image is (size / patch)^2 tokens
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=patch_size, vision_feature_select_strategy="default",
        chat_template=VISION_CHAT_TEMPLATE, num_additional_image_tokens=1,
    )  # fmt: skip
    processor.save_pretrained(folder)
    vision = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=image_size, patch_size=patch_size
    )
    text = LlamaConfig(**{**LlamaConfig.from_pretrained(folder).to_dict(), "vocab_size": len(tokenizer)})
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default", vision_feature_layer=-1,
    )  # fmt: skip
    (folder / "config.json").unlink()
    config.save_pretrained(folder)
    return folder
