"""``transformers serve`` on loopback, and tiny model folders with weights for it (it has no random-init mode).

``with_random_weights``: a tiny model folder with random weights saved, so its answers are noise
(the server ignores ``response_format``, so they never validate). ``write_scripted_llama``: a model that
answers every task with one fixed valid answer: its chat template ends the prompt with a marker
token chosen by the task (read from the prompt's words), its one layer adds nothing to the
embedding (attention and MLP outputs are zero), so the next token depends on the current token
alone, and its output head maps marker -> answer token -> end. Built here, nothing downloaded.
"""

import json
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from s3_bucket import free_port

from stages.llm.tiny_model import write_tiny_llama

HERE = Path(__file__).parent
START_TIMEOUT_S = 180

# what each task's prompt says that the others' do not, checked in this order
TASK_WORDS = [("judge", "informativeness"), ("instruct", "conversation"), ("recaption", "")]
ANSWERS = {
    "recaption": {"caption": "A liver section stained with H&E."},
    "instruct": {"conversation": [{"question": "What is shown?", "answer": "A liver section."}],
                 "vqa": [{"kind": "closed", "question": "Is this a CT image?", "answer": "no"}]},  # fmt: skip
    "judge": {"informativeness": 4, "consistency": 5, "reason": "Supported by the caption."},
}


def with_random_weights(folder: Path, seed: int = 0) -> Path:
    """A tiny model folder (``stages.llm.tiny_model``'s) with random weights saved into it."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    from stages.llm.transformers_engine import is_vision_model

    auto = AutoModelForImageTextToText if is_vision_model(folder) else AutoModelForCausalLM
    torch.manual_seed(seed)
    auto.from_config(AutoConfig.from_pretrained(folder)).save_pretrained(folder)
    return folder


def write_scripted_llama(folder: Path, answers: dict[str, dict] = ANSWERS, task_words: list[tuple[str, str]] = TASK_WORDS) -> Path:
    import torch
    from transformers import AddedToken, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    write_tiny_llama(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    markers = {task: f"<|{task}|>" for task in answers}
    tokenizer.add_special_tokens({"additional_special_tokens": list(markers.values())})
    # compact, as decoding constrained by a grammar without free whitespace writes JSON
    texts = {task: json.dumps(answer, separators=(",", ":")) for task, answer in answers.items()}
    tokenizer.add_tokens([AddedToken(text, special=False, normalized=False) for text in texts.values()])
    # the last route is taken when no earlier one's word is in the prompt
    *worded, (last, _) = [(task, word) for task, word in task_words if task in answers]
    route = "".join(f"{'{% if' if i == 0 else '{% elif'} '{word}' in text %}}{markers[task]}" for i, (task, word) in enumerate(worded))
    route += f"{{% else %}}{markers[last]}{{% endif %}}" if worded else markers[last]
    tokenizer.chat_template = (
        "{% set text = messages | map(attribute='content') | join(' ') %}"
        "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>" + route + "{% endif %}"
    )
    tokenizer.save_pretrained(folder)

    hidden = 64
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=1, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        layer = model.model.layers[0]
        layer.self_attn.o_proj.weight.zero_()
        layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        embedding = model.model.embed_tokens.weight
        successor = {}
        for task, text in texts.items():
            successor[tokenizer.convert_tokens_to_ids(markers[task])] = tokenizer.convert_tokens_to_ids(text)
            successor[tokenizer.convert_tokens_to_ids(text)] = tokenizer.eos_token_id
        for current, following in successor.items():
            # the final norm scales the embedding to unit RMS; its direction is what the head reads
            direction = embedding[current] / embedding[current].norm()
            model.lm_head.weight[following] += 50 * direction
    model.save_pretrained(folder)
    return folder


@contextmanager
def served(folder: Path, faults: bool = False):
    """``transformers serve FOLDER`` on a free loopback port (behind the fault layer if asked); its base URL."""
    port = free_port()
    serve = [sys.executable, str(HERE / "faulty_serve.py"), ""] if faults else [str(Path(sys.executable).parent / "transformers")]
    command = [*serve, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"transformers serve did not start: {process.communicate()[0][-3000:]}")
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
