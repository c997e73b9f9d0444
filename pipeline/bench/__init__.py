"""``figcurate bench``: the suite (``suite``), the parts of a run (``parts``: fetch, shards,
dedup), parsing, CLIP, the llm stage and vLLM."""
