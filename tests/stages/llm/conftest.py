import pytest

from stages.llm.tiny_model import write_tiny_llama


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """A tiny random Llama folder and tokenizer, built here (no download, no weights)."""
    return write_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
