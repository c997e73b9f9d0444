"""LLM recaptioning, instruction data and judging (stage ``llm``), schema-constrained so every answer parses.

Backends share prompt rendering, output parsing and validation, and record assembly
(``tasks.TaskPlan``): ``transformers`` (an actor pool, xgrammar-constrained decoding, CPU or GPU),
``vllm`` and ``openai`` (Ray Data's ``ray.data.llm`` processors, ``ray_llm.py``).
"""
