"""A corpus with known truth and one real run over it, shared by the pipeline tests of this session."""

from pathlib import Path

import pytest
from builders import run_config

from pipeline import runner
from pipeline.config import load_config
from pipeline.demo_corpus import generate_corpus, load_truth
from schemas.keys import article_key, sample_key

ARTICLES = 14


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    generate_corpus(root, articles=ARTICLES, seed=3)
    return root


@pytest.fixture(scope="session")
def expected(corpus):
    articles, figures = load_truth(corpus)
    newest = [a for a in articles if a["newest"]]
    dropped_articles = {(a["pmcid"], a["version"]): a["expected_drop"] for a in newest if a["expected_drop"]}
    samples, rejects = {}, set()
    for article, drop in dropped_articles.items():
        rejects.add((article_key(*article), drop["stage"], drop["reason"]))
    for fig in figures:
        if not fig["newest"] or (fig["pmcid"], fig["version"]) in dropped_articles:
            continue
        key = sample_key(fig["pmcid"], fig["version"], fig["figure_index"])
        if fig["expected_drop"]:
            rejects.add((key, fig["expected_drop"]["stage"], fig["expected_drop"]["reason"]))
        else:
            samples[key] = fig
    return {"samples": samples, "rejects": rejects, "articles": len(newest)}


@pytest.fixture(scope="session")
def run_output(corpus, tmp_path_factory, ray_local):
    tmp_path = tmp_path_factory.mktemp("run")
    output = tmp_path / "out"
    config = load_config(run_config(tmp_path, corpus, output))
    stats = runner.run(config)
    return output, stats, config


