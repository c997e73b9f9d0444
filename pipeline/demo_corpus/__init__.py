"""A deterministic PMC-like demo corpus on local disk, laid out like the ``pmc-oa-opendata`` bucket.

``generate_corpus(out, articles, seed)`` writes ``PMC<id>.<ver>/`` folders (JATS XML, metadata
JSON, plain text, figure media), ``metadata/`` copies, ``truth/*.jsonl`` with what a correct
pipeline must extract or drop, and ``corpus.json`` last. ``load_truth(root)`` reads the truth back.
"""

from .corpus import GENERATOR, GENERATOR_VERSION, generate_corpus
from .layout import load_truth

__all__ = ["GENERATOR", "GENERATOR_VERSION", "generate_corpus", "load_truth"]
