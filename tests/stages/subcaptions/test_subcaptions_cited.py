"""Panels a caption names only by citing them complete its run of labels."""

from stages.subcaptions.align import expected_panels
from stages.subcaptions.confidence import caption_confidence
from stages.subcaptions.split import split_caption

QUANTIFIED = (
    "Identification of the receptor. A, Strategy for identification. B, Co-immunoprecipitation of the mutant with "
    "LPHN2 for 2 min. N=3, quantified in C. D, Pulldown of LPHN2-GFP. E, Gi2 pulldown assay after knockdown. "
    "Results quantified in F and G."
)


def test_a_hole_in_the_run_and_letters_after_it_that_the_caption_cites_are_panels():
    split = split_caption(QUANTIFIED)
    assert sorted(split.labels()) == list("ABCDEFG")
    assert expected_panels(QUANTIFIED) == 7
    # a cited panel is told what the caption says of every panel; the others keep their own text
    assert split.subcaption("C") == split.shared == "Identification of the receptor."
    assert split.subcaption("B").startswith("Identification of the receptor. Co-immunoprecipitation")


def test_cited_panels_are_doubted_so_the_figure_stays_whole_by_default():
    value, doubts = caption_confidence(split_caption(QUANTIFIED))
    assert value < 0.5 and "label_without_text" in doubts


def test_a_hole_nobody_cites_stays_a_hole_and_words_are_no_citations():
    assert split_caption("Staining. (A) Liver. (B) Lung. (D) Kidney.").labels() == ["A", "B", "D"]
    # "B cells" names no hole here, "C57BL/6" is no letter, and "in E" is not the next letter after B
    caption = "Staining. (A) Liver of mice without B cells, as in C57BL/6 mice. (B) Lung, as in E."
    assert split_caption(caption).labels() == ["A", "B"]


def test_nothing_is_added_unless_every_missing_letter_is_cited():
    caption = "Staining. (A) Liver. (B) Lung. (D) Kidney, quantified in E."
    assert split_caption(caption).labels() == ["A", "B", "D"]  # C is not cited


def test_cited_letters_carry_the_run_on_to_the_next_marker():
    caption = (
        "Cholesterol depletion. A, Binding of the probe. B, Phalloidin staining. C, Co-immunoprecipitation. "
        "D, Activation of kinases. Results quantified in E and F, respectively. G, Model of the pathway."
    )
    split = split_caption(caption)
    assert sorted(split.labels()) == list("ABCDEFG")
    assert split.subcaption("G") == "Cholesterol depletion. Model of the pathway."
