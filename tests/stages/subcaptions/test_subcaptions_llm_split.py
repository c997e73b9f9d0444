"""The LLM subcaption splitter: its answers checked against the caption, the rules kept otherwise."""

import pytest
import pyarrow as pa
from builders import figure_row, image_bytes
from served_models import served, write_scripted_llama

from schemas.records import PANEL
from stages.llm.tiny_model import write_tiny_llama
from stages.runtime.context import StageContext
from stages.subcaptions.llm_split import InvalidSplit, LlmSplitSettings, LlmSplitter, check_answer
from stages.subcaptions.stage import Subcaptions, SubcaptionsSpec

CAPTION = "Liver histology. (A) H&E staining of wild-type livers. (B) Nrf2-/- livers."
# the model leaves the shared opening out, which the rules keep: so the two can be told apart
SPLIT = {"subcaptions": [{"label": "A", "text": "H&E staining of wild-type livers."}, {"label": "B", "text": "Nrf2-/- livers."}]}


def answer(items) -> str:
    import json

    return json.dumps({"subcaptions": [{"label": label, "text": text} for label, text in items]})


def test_an_answer_of_the_caption_s_own_words_for_every_label_is_taken():
    texts = check_answer(CAPTION, ["A", "B"], answer([("a", "Liver histology. H&E staining of wild-type livers."), ("(B)", "Nrf2-/- livers.")]))
    assert texts == {"A": "Liver histology. H&E staining of wild-type livers.", "B": "Nrf2-/- livers."}


@pytest.mark.parametrize(
    "text, why",
    [
        ("not json", "not a valid answer"),
        (answer([("A", "H&E staining of wild-type livers.")]), "answered labels"),
        (answer([("A", "H&E staining."), ("B", "Nrf2-/- livers."), ("C", "Nrf2-/- livers.")]), "answered labels"),
        (answer([("A", "H&E staining."), ("A", "Nrf2-/- livers.")]), "answered twice"),
        (answer([("A", "H&E staining of knockout livers."), ("B", "Nrf2-/- livers.")]), "subcaption A is not the caption's words"),
        (answer([("A", "wild-type livers H&E staining."), ("B", "Nrf2-/- livers.")]), "subcaption A is not the caption's words"),
    ],
)
def test_an_answer_that_adds_rewords_or_misses_a_label_is_refused(text, why):
    with pytest.raises(InvalidSplit, match=why):
        check_answer(CAPTION, ["A", "B"], text)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    """A tiny model that answers the subcaptions prompt with SPLIT, in one token (which a grammar
    mask over the vocabulary's ordinary tokens does not know: its tests decode unconstrained)."""
    return write_scripted_llama(tmp_path_factory.mktemp("scripted-split"), {"subcaptions": SPLIT}, [("subcaptions", "")])


def test_the_transformers_backend_splits_with_the_model(scripted, tiny_llama_folder):
    splitter = LlmSplitter(LlmSplitSettings(enabled=True, model=str(scripted), constrained=False))
    texts, why = splitter.split(CAPTION, ["A", "B"])
    assert why == "" and texts == {"A": "H&E staining of wild-type livers.", "B": "Nrf2-/- livers."}
    assert splitter.label == f"subcaptions.v1 ({scripted.name})"
    # a random model writes valid JSON (the grammar) but not the caption's words: the rules stand
    noise = LlmSplitter(LlmSplitSettings(enabled=True, model=str(tiny_llama_folder), allow_untrained=True, max_new_tokens=64))
    texts, why = noise.split(CAPTION, ["A", "B"])
    assert texts is None and why


@pytest.fixture(scope="module")
def tiny_llama_folder(tmp_path_factory):
    return write_tiny_llama(tmp_path_factory.mktemp("tiny-llama-split"))


def two_panels() -> pa.Table:
    row = figure_row(1, caption=CAPTION, image=image_bytes((200, 100)), panel_boxes=[[0, 0, 100, 100], [100, 0, 200, 100]], split_confidence=1.0,
                     source_width=200, source_height=100, image_width=200, image_height=100)  # fmt: skip
    return pa.Table.from_pylist([row], schema=PANEL)


def test_the_stage_takes_the_llm_s_subcaptions_where_it_is_routed(scripted):
    rules = Subcaptions(SubcaptionsSpec(), StageContext())(two_panels()).to_pylist()
    assert [row["subcaption"] for row in rules] == ["Liver histology. H&E staining of wild-type livers.", "Liver histology. Nrf2-/- livers."]
    assert all(row["alignment_detail"] is None for row in rules)
    spec = SubcaptionsSpec(llm_splitter={"enabled": True, "model": str(scripted), "route": "all", "constrained": False})
    rows = Subcaptions(spec, StageContext())(two_panels()).to_pylist()
    assert [row["subcaption"] for row in rows] == ["H&E staining of wild-type livers.", "Nrf2-/- livers."]
    assert all(row["alignment_detail"] == f"subcaptions by subcaptions.v1 ({scripted.name})" for row in rows)
    # routed only to captions the rules are unsure of (the default), this sure one is not asked
    unsure_only = Subcaptions(SubcaptionsSpec(llm_splitter={"enabled": True, "model": str(scripted), "constrained": False}), StageContext())
    assert [row["subcaption"] for row in unsure_only(two_panels()).to_pylist()] == [row["subcaption"] for row in rules]


def test_the_settings_are_checked_before_a_run(tmp_path):
    with pytest.raises(ValueError, match="model: required"):
        LlmSplitSettings(enabled=True)
    with pytest.raises(ValueError, match="needs a local model folder"):
        LlmSplitSettings(enabled=True, model="org/not-a-folder")
    with pytest.raises(ValueError, match="no prompt template"):
        LlmSplitSettings(enabled=True, backend="openai", model="m", prompt_version=9)


@pytest.mark.slow
def test_the_openai_backend_splits_through_a_served_model(scripted):
    with served(scripted.resolve()) as base:
        settings = LlmSplitSettings(enabled=True, backend="openai", model=str(scripted.resolve()), url=f"{base}/v1/chat/completions")
        texts, why = LlmSplitter(settings).split(CAPTION, ["A", "B"])
    assert why == "" and texts["B"] == "Nrf2-/- livers."


def test_the_eval_scores_the_llm_s_subcaptions_where_they_pass(scripted, tmp_path, capsys):
    """`figcurate eval subcaptions --splitter llm` on a two-figure gold file: the caption the scripted
    model answers is scored on its answer; the other caption's answer fails the check, so the rules stand."""
    import json

    from pipeline.cli import main

    gold = {
        "f1": {"caption": CAPTION, "gt_subfigures": [{"label": {"text": "A"}, "caption": "H&E staining of wild-type livers."},
                                                      {"label": {"text": "B"}, "caption": "Nrf2-/- livers."}]},
        "f2": {"caption": "Kidneys. (A) Control. (B) Mutant.", "gt_subfigures": [{"label": {"text": "A"}, "caption": "Kidneys. Control."},
                                                                                  {"label": {"text": "B"}, "caption": "Kidneys. Mutant."}]},
    }  # fmt: skip
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(gold))
    assert main(["eval", "subcaptions", "--gold", str(path), "--gold-format", "prostate"]) == 0
    rules = json.loads(capsys.readouterr().out)
    command = ["eval", "subcaptions", "--gold", str(path), "--gold-format", "prostate", "--splitter", "llm", "--llm-model", str(scripted),
               "--llm-route", "all", "--llm-unconstrained"]  # fmt: skip
    assert main(command) == 0
    scored = json.loads(capsys.readouterr().out)
    assert rules["mean_levenshtein_similarity"] < 1.0 and scored["mean_levenshtein_similarity"] == 1.0
    assert scored["llm_splitter"]["asked"] == 2 and scored["llm_splitter"]["accepted"] == 1
    assert "llm_splitter" not in rules
