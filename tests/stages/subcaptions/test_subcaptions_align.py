from stages.subcaptions.align import align, figure_number, mentioned_letters
from stages.subcaptions.split import split_caption

CAPTION = "Title. (A) one. (B) two. (C) three."


def test_labels_pair_with_panels_in_reading_order():
    result = align(3, split_caption(CAPTION), {"b"})
    assert result.method == "label_order"
    assert result.labels == ("A", "B", "C")
    assert result.subcaptions == ("Title. one.", "Title. two.", "Title. three.")


def test_count_disagreement_keeps_the_figure_whole():
    result = align(2, split_caption(CAPTION), set())
    assert (result.method, result.labels) == ("none", (None,))
    assert "3 panels" in result.reason


def test_mention_of_a_panel_the_caption_lacks_is_a_disagreement():
    assert align(3, split_caption(CAPTION), {"d"}).method == "none"


def test_gap_in_the_label_run_is_a_disagreement():
    assert align(3, split_caption("T. (A) one. (B) two. (D) four."), set()).method == "none"


def test_single_picture_and_unlabelled_compound():
    assert align(1, split_caption("A plot of growth."), set()).method == "single"
    assert align(1, split_caption(CAPTION), set()).method == "none"
    assert align(4, split_caption("No labels here."), set()).method == "none"


def test_position_words_align_by_reading_order():
    result = align(2, split_caption("Cells. (right) mutant; (left) control."), set())
    assert result.method == "position" and result.labels == ("left", "right")
    assert result.subcaptions[0] == "Cells. control."


def test_mentioned_letters_for_this_figure_only():
    mentions = ["As shown in Figure 2B, the cells grew.", "See Fig. 2C-E and Fig. 3A.", "Fig. 2 (F and G) shows x."]
    assert mentioned_letters(mentions, 2) == {"b", "c", "d", "e", "f", "g"}
    assert mentioned_letters(["In Fig. 2B, a decrease."], 2) == {"b"}
    assert figure_number("Figure 12") == 12 and figure_number(None) is None


def test_primed_labels_pair_in_label_order():
    split = split_caption("Tissues. Muscle cells (A and A'), fat cells (B and B').")
    assert align(4, split, set()).labels == ("A", "A'", "B", "B'")


def test_the_count_a_caption_names_is_given_only_for_one_run_of_two_or_more_labels():
    from stages.subcaptions.align import expected_panels

    assert expected_panels("Growth. (A) Liver. (B) Lung. (C) Gut.") == 3
    assert expected_panels("(a-c) Three views of the skull. (d) A tooth.") == 4
    assert expected_panels("One picture of a liver.") is None
    assert expected_panels("(A) Liver. (C) Gut.") is None  # not one run: the count is not trusted
    assert expected_panels("(A) Liver only.") is None
