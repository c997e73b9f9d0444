import pytest

from stages.subcaptions.split import split_caption
from stages.subcaptions.text import join_sentences


def labels(caption):
    return split_caption(caption).labels()


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("Title. (A) one. (B) two.", ["A", "B"]),
        ("Title. A) one. B) two.", ["A", "B"]),
        ("A. One thing. B. Other thing.", ["A", "B"]),
        ("A: one; B: two.", ["A", "B"]),
        ("Title. (a) one. (b) two.", ["a", "b"]),
        ("Title. (A1) one. (A2) two. (B) three.", ["A1", "A2", "B"]),
        ("Title. (1) one. (2) two.", ["1", "2"]),
        ("Title. (i) one. (ii) two. (iii) three.", ["i", "ii", "iii"]),
        ("Title. (A-C) one. (D) two.", ["A", "B", "C", "D"]),
        ("Title. (A–C) one. (D) two.", ["A", "B", "C", "D"]),
        ("Title. (A and B) one. (C) two.", ["A", "B", "C"]),
        ("Title. (D&E) one. (F) two.", ["D", "E", "F"]),
        ("Title. (A1/A2) one. (B) two.", ["A1", "A2", "B"]),
        ("Title. (left) control; (right) mutant.", ["left", "right"]),
        ("Left: control. Right: mutant.", ["left", "right"]),
        ("Title. A and C: one. B and D: two.", ["A", "C", "B", "D"]),
        ("Title.(a) glued to the dot. (b) two.", ["a", "b"]),
    ],
)
def test_label_styles(caption, expected):
    assert labels(caption) == expected


@pytest.mark.parametrize(
    "caption",
    [
        "Same axons as in (A) 27 h later.",
        "Quantification, see Fig. 1A and Figure 2(B).",
        "Panel B shows the control. As in C, cells die.",
        "Expression of A. thaliana genes.",
        "Computed tomography (CT) of the chest (n = 5).",
    ],
)
def test_references_are_not_split_points(caption):
    split = split_caption(caption)
    assert split.segments == () and split.preamble == split.caption


def test_shared_opening_and_closing_copied_and_label_removed():
    split = split_caption("Effects of X on Y. (A) Control cells. (B) Treated cells, see (A). Scale bars, 50 µm.")
    assert split.subcaption("A") == "Effects of X on Y. Control cells. Scale bars, 50 µm."
    assert split.subcaption("B") == "Effects of X on Y. Treated cells, see (A). Scale bars, 50 µm."
    assert split.subcaption("C") is None
    assert split.shared == "Effects of X on Y. Scale bars, 50 µm."


def test_caption_naming_no_panel_is_shared_whole():
    split = split_caption("Kaplan-Meier estimates of survival by co-expression of DNMTs.")
    assert split.subcaption("A") is None
    assert split.shared == split.caption


def test_range_segment_is_shared_by_its_labels():
    split = split_caption("Title. (A-C) Three views of a cell. (D) A plot.")
    assert split.subcaption("B") == "Title. Three views of a cell."
    assert split.subcaption("D") == "Title. A plot."


def test_labels_after_their_text():
    split = split_caption("Liver of control mice (A), and of knockout mice (B). Scale bar, 10 µm.")
    assert split.style == "postfix"
    assert split.subcaption("A") == "Liver of control mice. Scale bar, 10 µm."
    assert split.subcaption("B") == "of knockout mice. Scale bar, 10 µm."


def test_out_of_run_letter_is_an_abbreviation_not_a_label():
    assert labels("Sections. (A) Tumour; normal glands (N) are marked. (B) Stroma. (C) Nuclei.") == ["A", "B", "C"]


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("Sacral vertebra. A, anterior; B, posterior; C, dorsal views.", ["A", "B", "C"]),
        ("Bones. A–B, humerus in two views; C–D, radius.", ["A", "B", "C", "D"]),
        ("A and B, Fracture of the elbow. C and D, Postoperative radiographs.", ["A", "B", "C", "D"]),
        ("Charcot spine. a Parasagittal CT image of the pedicle. b Coronal CT image of the disc.", ["a", "b"]),
        ("Stained tissue of three grades: a Gleason grade 2, b Gleason grade 3, c Gleason grade 4", ["a", "b", "c"]),
        ("Tissue spots. A) lung cancer, B) breast cancer and C) prostate cancer.", ["A", "B", "C"]),
        ("Eggs. Panel A shows an intact egg. Panels B and C show broken eggs.", ["A", "B", "C"]),
        ("Expression in cancer tissues.A Representative photographs. B Quantification of the staining.", ["A", "B"]),
        ("Expression of FCN2 (a) and FCN3 (b) genes in ovaries.", ["a", "b"]),
    ],
)
def test_weak_label_forms_inside_a_run(caption, expected):
    assert labels(caption) == expected


@pytest.mark.parametrize(
    "caption",
    [
        "A 2-cm nodular lesion in the left lung abutting the pleura.",
        "A, B and C show the same trend in all experiments.",
        "Signal at day 30, a decrease of 50% after treatment.",
        "Values for Fig. 2 (B) are in the table.",
        # species abbreviated in letter order: the word after "A." ends as an epithet
        "A. thaliana seedlings grown on agar. B. napus seedlings grown on soil.",
        "A. fumigatus hyphae. B. dermatitidis yeast cells. C. albicans pseudohyphae.",
        "Structure of the complex. A. thaliana protein in green; human protein in blue.",
        # letters listed after "in" without words of their own
        "Staining in A, B, and C cells of the islets.",
        "CD19 expression in B, T and NK cells from patients.",
        "Growth curves of strains A, B and C in rich medium.",
    ],
)
def test_weak_forms_alone_are_not_labels(caption):
    assert labels(caption) == []


def test_panel_word_stays_in_the_subcaption():
    split = split_caption("Eggs. Panel A shows an intact egg. Panel B shows a broken egg.")
    assert split.subcaption("A") == "Eggs. Panel A shows an intact egg."
    assert split.subcaption("B") == "Eggs. Panel B shows a broken egg."


def test_keep_label_writes_the_marker_as_in_the_caption():
    prefix = split_caption("Leaf sections. (A) Young leaf. (B-C) Old leaf.")
    assert prefix.subcaption("A", keep_label=True) == "Leaf sections. (A) Young leaf."
    assert prefix.subcaption("C", keep_label=True) == "Leaf sections. (B-C) Old leaf."
    postfix = split_caption("Roots of seedlings (a), and of adult plants (b).")
    assert postfix.subcaption("b", keep_label=True) == "of adult plants (b)"


def test_a_word_ending_like_an_abbreviation_still_ends_its_sentence():
    # "survival." ends in "al." but is no "et al.": the next label starts a clause
    assert labels("Curves of survival. a Disease-free survival. b Overall survival") == ["a", "b"]


@pytest.mark.parametrize(
    "caption, expected",
    [
        # after "of", "in", "with" ...: a label when it starts or continues a run nobody else names
        ("Staining of (A) liver; (B) kidney; (C) heart.", ["A", "B", "C"]),
        ("Cells in (A) control and (B) mutant mice. Staining for (C) actin and (D) tubulin.", ["A", "B", "C", "D"]),
        # a label and a description in one parenthesis
        ("Liver of control mice (A, arrows), and of knockout mice (B, arrowheads).", ["A", "B"]),
        ("Protein X (Panel a) and protein Y (Panel b) in serum over a week.", ["a", "b"]),
        ("Rates by age group. Panel A: rates with a fixed cut-off. Panel B: rates without it.", ["A", "B"]),
        ("Views. (a) One. (b, c, and d) Three more.", ["a", "b", "c", "d"]),
        ("Two stains.(A,B) First stain. (C,D) Second stain.", ["A", "B", "C", "D"]),
        ("Expression in tumour tissuesA) First group of patients. B) Second group.", ["A", "B"]),
        ("Tissue array. A: Brain (neurons) B: Colon (mucosa); C: Liver (bile duct)", ["A", "B", "C"]),
        ("Findings at surgery. a T2W image of the pelvis. b *20 view of the margin.", ["a", "b"]),
        ("Stains. (A-B) Plain sections. Staining for a marker (anti-CD31, C-D) at low power.", ["A", "B", "C", "D"]),
        ("Mice were castrated.a) Plain section. b) Stained section.", ["a", "b"]),
        ("Biopsy with large nuclei (image A and B). Cells were positive for keratin (CK5; image C).", ["A", "B", "C"]),
        ("Sections (A, C, patient 5) and (B, D, patient 9) stained for MMP2 (A, B) and MMP3 (C, D).", ["A", "C", "B", "D"]),
        ("Skull. A, left; B, right; C, top; and D, bottom views.", ["A", "B", "C", "D"]),
        ("Invasion. (A): wound assay. (B): transwell assay.", ["A", "B"]),
        ("Basal cells. A and C: low power. B and D. Higher power of A and C.", ["A", "C", "B", "D"]),
        ("Channel states. a Top views, b side views, and c pore views of the open state.", ["a", "b", "c"]),
    ],
)
def test_more_label_forms(caption, expected):
    assert labels(caption) == expected


def test_a_panel_cited_after_in_is_not_a_second_marker():
    split = split_caption("Tumour growth. (A) Wild type. (B) The same region in (A) a week later.")
    assert split.labels() == ["A", "B"]
    assert split.subcaption("B") == "Tumour growth. The same region in (A) a week later."


def test_panel_colon_marker_is_removed_and_panel_word_kept_otherwise():
    split = split_caption("Rates by age group. Panel A: rates with a fixed cut-off. Panel B: rates without it.")
    assert split.subcaption("A") == "Rates by age group. rates with a fixed cut-off."


def test_stain_abbreviation_and_other_case_letters_are_not_labels():
    # "(H and E)" runs backwards: a stain, not panels H and E; the caption's labels are lowercase
    assert labels("Stains (H and E) of the tumour. (a) Low power. (b) High power. (c) Margin.") == ["a", "b", "c"]


def test_the_article_after_a_comma_is_not_a_label():
    split = split_caption("Grafts. (A) Line 1, compact growth. (B) Line 2, a looser pattern. (C) Line 3, a cystic mass.")
    assert split.labels() == ["A", "B", "C"]
    assert split.subcaption("B") == "Grafts. Line 2, a looser pattern."


def test_half_the_markers_closing_and_none_opening_reads_label_after_text():
    split = split_caption("Stain of a tumour from the lung (a) and the resected node (b).")
    assert split.style == "postfix"
    assert split.subcaption("b") == "Stain of a tumour from the resected node"
    assert split.subcaption("b", share_list_heads=False) == "the resected node"


def test_closing_stays_with_the_last_panel_when_every_panel_has_its_own():
    split = split_caption("Glands. (A) Small glands. Original magnification x200. (B) Large glands. Original magnification x400.")
    assert split.subcaption("A") == "Glands. Small glands. Original magnification x200."
    assert split.subcaption("B") == "Glands. Large glands. Original magnification x400."


def test_labels_inside_a_sentence_share_its_opening_words():
    split = split_caption("Root growth. Seedlings were grown on (A) agar, (B) soil, and (C) sand. Bars, 1 cm.")
    assert split.subcaption("A") == "Root growth. Seedlings were grown on agar. Bars, 1 cm."
    assert split.subcaption("C") == "Root growth. Seedlings were grown on sand. Bars, 1 cm."
    assert split.subcaption("B", keep_label=True) == "Root growth. Seedlings were grown on (B) soil. Bars, 1 cm."


def test_the_next_sentence_opening_does_not_trail_the_previous_panel():
    split = split_caption("Scans. (A) Axial view of the liver. A cyst was seen in (B) the left lobe and (C) the right lobe.")
    assert split.subcaption("A") == "Scans. Axial view of the liver."
    assert split.subcaption("B") == "Scans. A cyst was seen in the left lobe"


def test_a_label_after_a_lost_full_stop_starts_its_own_sentence():
    split = split_caption("Scans. (A) Axial view, slice 5 mm (B) Coronal view of the same lesion.")
    assert split.subcaption("A") == "Scans. Axial view, slice 5 mm"
    assert split.subcaption("B") == "Scans. Coronal view of the same lesion."


def test_position_words_among_lettered_panels_describe_parts_of_a_panel():
    caption = "Uptake. A. Cells imaged live (left panel) and fixed (right panel). B. Quantification of uptake."
    assert labels(caption) == ["A", "B"]


def test_a_run_survives_a_panel_named_only_in_passing():
    caption = "Flow responses. A, Alignment of cells. B, Kinase activation, quantified in C. D, Rescue by re-expression."
    assert labels(caption) == ["A", "B", "D", "C"]  # C is no split point; it fills the run (test_subcaptions_cited.py)
    assert split_caption(caption).subcaption("B") == "Flow responses. Kinase activation, quantified in C."


def test_notes_after_one_sentence_panels_are_shared():
    split = split_caption("Liver sections. (A) Control liver. (B) Fibrotic liver. Images are representative of five mice.")
    assert split.subcaption("A") == "Liver sections. Control liver. Images are representative of five mice."


def test_notes_after_multi_sentence_panels_stay_with_the_last_panel_unless_closing_notes():
    caption = ("Liver sections. (A) Control liver. Cells are small. (B) Fibrotic liver. Collagen fills the lobule. "
               "Scale bar, 50 µm.")
    split = split_caption(caption)
    assert split.subcaption("A") == "Liver sections. Control liver. Cells are small. Scale bar, 50 µm."
    assert split.subcaption("B") == "Liver sections. Fibrotic liver. Collagen fills the lobule. Scale bar, 50 µm."


def test_a_label_opening_a_sentence_in_a_label_after_text_caption_takes_what_follows():
    split = split_caption("Laser capture. (a) Overview of the slide. A cell was chosen (b). The cell was cut out (c).")
    assert split.style == "postfix"
    assert split.subcaption("a") == "Laser capture. Overview of the slide."
    assert split.subcaption("b") == "Laser capture. A cell was chosen"


def test_a_plate_of_inline_letters_is_split():
    caption = "Copepod, female: A tail, ventral view B mouth parts, lateral view C leg, dorsal view D egg sac."
    split = split_caption(caption)
    assert split.labels() == ["A", "B", "C", "D"]
    assert split.subcaption("B") == "Copepod, female: mouth parts, lateral view"


# Rules added for real captions: (caption, the labels found, one label, keep its marker, its subcaption).
SUBCAPTION_RULES = [
    pytest.param(
        "Beetle, male. 7A Body, dorsal 7B Head, anterior 7C Body, lateral 7D Aedeagus, dorsal. [Scale lines = 1 mm].",
        ["A", "B", "C", "D"], "C", True, "Beetle, male. 7C Body, lateral. [Scale lines = 1 mm].",
        id="plate-of-letters-after-the-figure-number",
    ),
    pytest.param(
        "1–2 Salganea sp. n., male: 1 holotype, dorsal view 2 same, ventral view "
        "3–4 Salganea sp. n., nymph: 3 paratype, dorsal view 4 same, ventral view. Scale bars = 1.0 cm.",
        ["1", "2", "3", "4"], "4", True, "3–4 Salganea sp. n., nymph: 4 same, ventral view. Scale bars = 1.0 cm.",
        id="plate-of-numbers-whose-ranges-head-them",
    ),
    pytest.param(
        "A and B, Fracture of the right elbow. C and D, Postoperative radiographs. "
        "Result 9 years after treatment: E and F, Normal elbow; G and H, Operated elbow.",
        list("ABCDEFGH"), "H", False, "Result 9 years after treatment: Operated elbow.",
        id="colon-sentence-heads-the-labels-after-it",
    ),
    pytest.param(
        "Markers: A. H & E staining; B. p63 IHC; C. AR IHC.", ["A", "B", "C"], "B", False, "Markers: p63 IHC",
        id="label-before-a-lowercase-name",
    ),
    pytest.param(
        "A man with prostate cancer. Low signal on T1WI (A) and T2WI (B) indicates hemorrhage. No hemorrhage is seen on CT (C).",
        ["A", "B", "C"], "B", False, "A man with prostate cancer. Low signal on T2WI indicates hemorrhage.",
        id="labels-listed-with-and-close-their-text",
    ),
    pytest.param(
        "The skull. (A) Lateral view. (B) Occipital view. bo, basioccipital; bs, basisphenoid; eo, exoccipital.",
        ["A", "B"], "A", False, "The skull. Lateral view. bo, basioccipital; bs, basisphenoid; eo, exoccipital.",
        id="closing-abbreviations-are-shared",
    ),
    pytest.param(
        "Mandible. (A) Molar. (B) Setae. (C) Palp. Scale bars indicate 200 µm (A), 10 µm (B) or 20 µm (C).",
        ["A", "B", "C"], "B", False, "Mandible. Setae. Scale bars indicate 10 µm",
        id="list-opening-ending-in-a-verb",
    ),
    pytest.param(
        "Echocardiography. Vessels were seen by Doppler imaging (a), (b). Flow was seen around the trunk (c), (d).",
        ["a", "b", "c", "d"], "b", True, "Echocardiography. Vessels were seen by Doppler imaging (a), (b)",
        id="markers-side-by-side",
    ),
    pytest.param(
        "Immunostaining. (A) The lesion is CAM5.2 positive. The stroma shows strong vimentin (B) and weak inhibin (C) staining.",
        ["A", "B", "C"], "C", False, "Immunostaining. The stroma shows weak inhibin staining.",
        id="pair-inside-a-sentence-of-a-label-first-caption",
    ),
    pytest.param(
        "Oophorectomy in four steps. 1. Positioning of the loop 2. After placement of 3 loops resection 3. Coagulation of the stump",
        ["1", "2", "3"], "2", True, "Oophorectomy in four steps. 2. After placement of 3 loops resection",
        id="numbered-list-run-together",
    ),
    pytest.param(
        "Forelimb bones. A–B, humerus in medial views; C–D; radius in lateral views.",
        ["A", "B", "C", "D"], "C", False, "Forelimb bones. radius in lateral views.",
        id="label-list-ending-in-a-semicolon",
    ),
    pytest.param(
        "Adherence. Images of assays with CSA (B) and HA (C). Binding was blocked by HA (D, upper graph). "
        "Binding was lost after chondroitinase (D, lower graph). All data are means of three experiments.",
        ["B", "C", "D"], "B", False, "Adherence. Images of assays with CSA. All data are means of three experiments.",
        id="panel-described-again-right-after-itself",
    ),
    pytest.param(
        "Sinus CT. (A) Rostral level. (B) Middle level. (C) Caudal level. Numbered structures: (1) SMR, (2) VNC, (3) DNC.",
        ["A", "B", "C"], "C", False, "Sinus CT. Caudal level. Numbered structures: (1) SMR, (2) VNC, (3) DNC.",
        id="numbers-among-letters-count-structures",
    ),
    pytest.param(
        "Teratomas. (A) Sections were stained with H&E and antibodies against SNAIL1 (B) and OCT3/4 (C). Pictures at 20x. (D) HDAC1.",
        ["A", "B", "C", "D"], "A", False, "Teratomas. Sections were stained with H&E. Pictures at 20x.",
        id="label-opening-a-sentence-that-lists-later-labels",
    ),
    pytest.param(
        "Invasion. (A) Slice cocultures. (E1 and E2) Astrocytes express CXCR4.",
        ["A", "E1", "E2"], "E", False, "Invasion. Astrocytes express CXCR4.",
        id="panel-labelled-only-through-its-parts",
    ),
    pytest.param(
        "Ovarian dermoid. (a) Sagittal and (b) oblique T2-weighted images shows cervical cancer (arrow). Fat is dark.",
        ["a", "b"], "a", False, "Ovarian dermoid. Sagittal shows cervical cancer (arrow). Fat is dark.",
        id="items-before-one-predicate-share-it",
    ),
    pytest.param(
        "Echo. (a) Four-chamber view, (b) M-mode shows hypertrophy, (c) Doppler shows narrowing.",
        ["a", "b", "c"], "b", False, "Echo. M-mode shows hypertrophy",
        id="items-with-their-own-predicates-keep-them",
    ),
    pytest.param(
        "Angiography. Stenosis in the branch of the circumflex artery (A) and small lesions in RCA (B) and LAD (C).",
        ["A", "B", "C"], "C", False, "Angiography. small lesions in LAD",
        id="list-item-with-its-own-opening-starts-a-new-list",
    ),
    pytest.param(
        "Staining falls with grade. Stromal staining in normal ovary (A), serous cystadenoma (B), and moderately "
        "differentiated serous papillary carcinoma (C).",
        ["A", "B", "C"], "C", False, "Staining falls with grade. Stromal staining in moderately differentiated serous papillary carcinoma",
        id="list-of-five-word-items-shares-its-opening",
    ),
    pytest.param(
        "EEG monitoring shows (A) theta waves with (B) synchrony. Later EEG reveals (C) normal activity and (D) a seizure.",
        ["A", "B", "C", "D"], "D", False, "Later EEG reveals a seizure.",
        id="opening-that-ends-in-its-verb-is-no-title",
    ),
    pytest.param(
        "IRE1 structures. A. hIRE1 is a monomer. B. ADP-hIRE1 is a dimer. C. apo-hIRE1 is a dimer too.",
        ["A", "B", "C"], "C", False, "IRE1 structures. apo-hIRE1 is a dimer too.",
        id="label-before-a-hyphenated-lowercase-name",
    ),
    pytest.param(
        "(A) H&E of primary melanoma. Positive immunostains; (B) S100, (C) Mart 1 and (D) HMB45.",
        ["A", "B", "C", "D"], "C", False, "Positive immunostains Mart 1",
        id="short-sentence-ending-in-a-semicolon-heads-the-labels-after-it",
    ),
    pytest.param(
        "Markers. A. H & E staining; B. p63 IHC; C. AR IHC.", ["A", "B", "C"], "B", False, "Markers. p63 IHC",
        id="label-text-ending-in-a-semicolon-heads-nothing",
    ),
    pytest.param(
        "Drawings. A: Holotype. Scale bar = 50 mm. B: Paratype. C: Juvenile. Scale bars = 10 mm. Specimens are colour-coded.",
        ["A", "B", "C"], "B", False, "Drawings. Paratype. Specimens are colour-coded.",
        id="notes-after-the-last-panels-own-scale-bar-are-shared",
    ),
    pytest.param(
        "ASPM levels. (A) Nuclei with low (a, b) and high (c, d) levels. (B) Cytoplasm with low (a, b) and high (c, d) "
        "levels. Scale bars are 10 μm (b) and 5 μm (d). (C) Spindle poles with low (a) and high (b) levels.",
        ["A", "B", "C"], "B", False, "ASPM levels. Cytoplasm with low (a, b) and high (c, d) levels. Scale bars are 10 μm (b) and 5 μm (d).",
        id="lowercase-letters-starting-again-in-each-panel-name-its-parts",
    ),
    pytest.param(
        "Hindlimb bones. A, Left innominate in lateral view; B, Left femur in dorsal (B1) and medial (B2) views; "
        "C, Right tibia in proximal (C1) and dorsal (C2) views.",
        ["A", "B", "C"], "B", False, "Hindlimb bones. Left femur in dorsal (B1) and medial (B2) views",
        id="numbered-views-of-a-lettered-panel-are-no-panels",
    ),
    pytest.param(
        "Summary of IRE1 structures A. hIRE1 is a monomer. B. ADP-hIRE1 is a dimer. C. apo-hIRE1 is a dimer.",
        ["A", "B", "C"], "A", False, "Summary of IRE1 structures. hIRE1 is a monomer.",
        id="title-run-into-its-first-label",
    ),
    pytest.param(
        "Snapshots of MscL. a Top views, b corresponding side views. Columns (i), (ii), and (iii) are taken 0, 3, and 5 ns.",
        ["a", "b"], "b", False, "Snapshots of MscL. corresponding side views. Columns (i), (ii), and (iii) are taken 0, 3, and 5 ns.",
        id="roman-numerals-after-lettered-panels-are-columns",
    ),
    pytest.param(
        "Stages of growth. (i) Early. (ii) Middle. (iii) Late. (iv) Post. (v) Dead cells. (vi) Debris.",
        ["i", "ii", "iii", "iv", "v", "vi"], "v", False, "Stages of growth. Dead cells.",
        id="roman-v-among-roman-numerals-is-no-outlying-letter",
    ),
    pytest.param(
        "CXCR4 in invasion. (A) Invasion in brain slices. (B) qRT-PCR results. "
        "[Color figure can be viewed in the online issue, which is available at wileyonlinelibrary.com.]",
        ["A", "B"], "A", False, "CXCR4 in invasion. Invasion in brain slices.",
        id="publishers-colour-note-belongs-to-no-panel",
    ),
    pytest.param(
        "The mandible from Mezzena. Frontal view : A, internal view : B, lateral view: C, superior view : D), inferior view : E.",
        ["A", "B", "C", "D", "E"], "D", False, "The mandible from Mezzena. superior view",
        id="labels-after-colons-close-their-items",
    ),
    pytest.param(
        "Ductal adenocarcinoma. Note: A, hematoxylin and eosin *25; B hematoxylin and eosin *50.",
        ["A", "B"], "A", False, "Ductal adenocarcinoma. Note: hematoxylin and eosin *25",
        id="a-lone-label-after-a-colon-opens-its-text",
    ),
    pytest.param(
        "CT of the abdomen. CT scanning shows A). Large splenic metastasis, B). Metastasis to the lymph nodes, "
        "and C). A lower view of the metastasis. D). CT after surgery.",
        ["A", "B", "C", "D"], "B", False, "CT of the abdomen. CT scanning shows Metastasis to the lymph nodes",
        id="labels-written-with-a-full-stop-after-the-bracket-inside-a-reporting-sentence",
    ),
    pytest.param(
        "Patient 2. (A) Axial MR image and (B) axial scanogram reveal a cystic tumor. A lipid peak occurred at 1.3 ppm "
        "in (C) water-unsuppressed and (D) water-suppressed spectra, and the lipid-to-water ratio was 0.009.",
        ["A", "B", "C", "D"], "C", False,
        "Patient 2. A lipid peak occurred at 1.3 ppm in water-unsuppressed and the lipid-to-water ratio was 0.009.",
        id="a-clause-after-the-last-items-comma-is-said-of-every-item",
    ),
    pytest.param(
        "Antibodies against IEs. (A) Rabbit plasma. (B) Rabbit IgG. (C) Mouse plasma. (D) Mouse IgG. "
        "In (A) and (B), blue histograms represent polyclonal plasma. In (C) and (D), individual mice were tested.",
        ["A", "B", "C", "D"], "C", False, "Antibodies against IEs. Mouse plasma. In (C) and (D), individual mice were tested.",
        id="a-closing-sentence-opening-with-panels-is-told-of-them",
    ),
    pytest.param(
        "Controls of IHC analysis. Positive control (EFEMP1 positive) (A) Human cervical cancer sections. "
        "Negative control (B) normal ovarian tissue, (C) Benign tumor.",
        ["A", "B", "C"], "B", False, "Controls of IHC analysis. Negative control normal ovarian tissue",
        id="a-later-sentences-opening-before-the-first-label-is-no-preamble",
    ),
    pytest.param(
        "CD8+ T cells are cytotoxic in vivo A,B. Staining was done on splenocytes. (A) IFN-γ profiles. (B) Tetramer gate. "
        "C. Labelled splenocytes were transferred into mice.",
        ["A", "B", "C"], "C", False, "CD8+ T cells are cytotoxic in vivo. Labelled splenocytes were transferred into mice.",
        id="title-run-into-a-list-of-its-first-labels",
    ),
    pytest.param(
        "Holotypic scapulae. Left scapula in (A) lateral view; right scapula in (B) lateral and (C) medial views. "
        "(A) and (B) photographed in 2012; (C) photographed during preparation.",
        ["A", "B", "C"], "B", False, "Holotypic scapulae. right scapula in lateral photographed in 2012",
        id="a-label-after-in-is-no-citation-of-a-later-marker-and-a-clause-keeps-its-opening",
    ),
    pytest.param(
        "Neck ultrasound. A. Perpendicular puncture. B. Lateral angulation. C. Tilted approach. "
        "Initially, the needle is inserted at the vein (left). The needle is then angled (middle and right). Scale bar = 1 cm.",
        ["A", "B", "C"], "B", False, "Neck ultrasound. Lateral angulation. Scale bar = 1 cm.",
        id="sentences-naming-parts-by-position-stay-with-the-last-panel",
    ),
]


@pytest.mark.parametrize("caption, found, label, keep_label, expected", SUBCAPTION_RULES)
def test_subcaption_rules_for_real_captions(caption, found, label, keep_label, expected):
    split = split_caption(caption)
    assert split.labels() == found
    assert split.subcaption(label, keep_label=keep_label) == expected


@pytest.mark.parametrize(
    "caption",
    [
        "Cells after 1 day, 2 weeks and 3 months.",  # counts with units
        "Growth of 1 colony beside 2 colonies and 3 clones.",  # no run opens the caption
        "Mutant A cells, mutant B cells and mutant C cells.",  # the same word after every letter
        "Growth curves. Cells were counted on day 3. Then they were split.",  # a number ending a sentence
    ],
)
def test_numbers_and_letters_inside_text_are_no_labels(caption):
    assert labels(caption) == []


@pytest.mark.parametrize("caption", ["Cells with vitamin A. B. Cells without it. C. Controls.", "Cells as in A. Others. B. Mutants. C. Controls."])
def test_a_letter_ending_a_sentence_before_the_next_label_is_no_title_run_into_a_label(caption):
    assert labels(caption) == ["B", "C"]


def test_a_lone_letter_starting_no_run_is_an_abbreviation():
    caption = "S3F expression. Sections of normal (N), serous cystadenomas (Cy) and adenocarcinomas (PD) were scored."
    assert labels(caption) == []
    assert labels("Histology. Tumour cells (A) stain brown.") == ["A"]
    assert labels("Snapshots. The bond between Lys-143 (H) and ATP (O1B) breaks. (b1), distances over time.") == ["b1"]


def test_a_capital_and_full_stop_before_a_species_epithet_is_no_label():
    assert labels("Infection. (A) Cells with E. coli. (B) Cells with B. subtilis.") == ["A", "B"]


def test_labels_listed_with_and_make_a_label_after_text_caption():
    split = split_caption("Scans. Low signal on T1WI (A) and T2WI (B) indicates hemorrhage. No hemorrhage on CT (C).")
    assert split.style == "postfix"
    assert split.subcaption("A") == "Scans. Low signal on T1WI indicates hemorrhage."


def test_letters_naming_things_are_not_an_inline_plate():
    assert labels("Titres of hepatitis A virus, hepatitis B virus and hepatitis C virus in sera.") == []


def test_a_plate_keeps_its_inline_labels_when_a_scale_note_cites_them():
    # read as labels, "(A, B)" and "(C, D)" made this caption one written label-after-text
    split = split_caption("Male genitalia. A aedeagus, dorsal view B same, lateral view C paramere D sternite IX. Scale bars: 0.5 mm (A, B), 0.2 mm (C, D).")
    assert split.labels() == ["A", "B", "C", "D"]
    assert split.style == "prefix"
    assert split.subcaption("C") == "Male genitalia. paramere. Scale bars: 0.5 mm (A, B), 0.2 mm (C, D)."


@pytest.mark.parametrize(
    "caption, expected, label, subcaption",
    [
        pytest.param(
            "Skull of Waharoa. A. composite of cranium; B. right maxilla in ventral view; C. right maxilla in lateral view.",
            ["A", "B", "C"], "B", "Skull of Waharoa. right maxilla in ventral view",
            id="a-full-stop-before-a-lowercase-word",
        ),
        pytest.param(
            "Memory test. A. On day 15 the mice were trained. B. 24 h later, memory was tested.",
            ["A", "B"], "B", "Memory test. 24 h later, memory was tested.",
            id="a-full-stop-before-a-number",
        ),
        pytest.param(
            "Memory test. A On day 15 the mice were trained. B 24 h later, memory was tested.",
            ["A", "B"], "B", "Memory test. 24 h later, memory was tested.",
            id="a-bare-letter-before-a-number",
        ),
        pytest.param(
            "Clavicle. Panels A-C show the clavicle before and after the operation. A, X-ray after the accident. B, 3D reconstruction. C, X-ray after the operation.",
            ["A", "B", "C"], "B", "Clavicle. Panels A-C show the clavicle before and after the operation. 3D reconstruction.",
            id="panels-named-first-in-a-group-then-one-by-one",
        ),
        pytest.param(
            "CT of the trachea. (A) Volume rendering. (B) Axial CT. (C and D) Sagittal MPR: on (C) end-expiration and (D) end-inspiration the trachea collapses.",
            ["A", "B", "C", "D"], "D", "CT of the trachea. Sagittal MPR: on end-inspiration the trachea collapses.",
            id="a-group-does-not-make-its-panels-own-markers-citations",
        ),
        pytest.param(
            "Distribution of species in China. A Xus yus B Xus zus C Xus wus.",
            ["A", "B", "C"], "B", "Distribution of species in China. Xus zus",
            id="a-plate-opening-its-sentence-however-alike-its-items",
        ),
        pytest.param(
            "Skull of Ausaurus (NHMUK R1234) in A, dorsal; B, ventral; C, left lateral; and D, occipital views. Scale bar equals 5 cm.",
            ["A", "B", "C", "D"], "B", "Skull of Ausaurus (NHMUK R1234) in ventral. Scale bar equals 5 cm.",
            id="views-listed-after-in",
        ),
        pytest.param(
            "Loss of CD166 in the gland.a. The gross anatomy of the prostate. b. Sphere formation of prostate cells.",
            ["a", "b"], "a", "Loss of CD166 in the gland. The gross anatomy of the prostate.",
            id="a-lower-case-label-glued-to-the-sentence-before",
        ),
        pytest.param(
            "Lesions (magnification 200*).a: A mouse lesion. b: A human lesion.",
            ["a", "b"], "b", "Lesions (magnification 200*). A human lesion.",
            id="a-lower-case-label-glued-after-a-bracket",
        ),
        pytest.param(
            "Scans. (A to C) Axial CT at three levels. (D) Coronal CT.",
            ["A", "B", "C", "D"], "B", "Scans. Axial CT at three levels.",
            id="a-range-written-with-to",
        ),
        pytest.param(
            "Blots. A through C. Western blots of lysates. D. Quantification of the blots.",
            ["A", "B", "C", "D"], "C", "Blots. Western blots of lysates.",
            id="a-range-written-with-through-opening-a-sentence",
        ),
        pytest.param(
            "Nkx3.1 in lesions.(A to D) Low power view. (E to H) High power view.",
            ["A", "B", "C", "D", "E", "F", "G", "H"], "F", "Nkx3.1 in lesions. High power view.",
            id="a-range-with-to-glued-to-the-sentence-before",
        ),
        pytest.param(
            "Histology. (A+B) Benign hyperplasia. (C+D) Cancer.",
            ["A", "B", "C", "D"], "D", "Histology. Cancer.",
            id="labels-joined-with-plus",
        ),
        pytest.param(
            "Chest scans.(panel a) Axial CT of the chest. (panel b) Coronal CT.",
            ["a", "b"], "a", "Chest scans. Axial CT of the chest.",
            id="a-panel-word-and-label-glued-to-the-sentence-before",
        ),
        pytest.param(
            "Chest scans. (A)Axial CT of the chest. (B)Coronal CT.",
            ["A", "B"], "B", "Chest scans. Coronal CT.",
            id="a-label-run-into-its-first-word",
        ),
        pytest.param(
            "A: Echocardiography showing the fistula, B: Color Doppler showing a shunt, C: Echocardiography after closure.",
            ["A", "B", "C"], "B", "Color Doppler showing a shunt",
            id="labels-with-colons-run-on-with-commas",
        ),
        pytest.param(
            "Prostate tissue. A. Normal prostate with basal cells, B. Cancer with glands, C. 24 h after castration.",
            ["A", "B", "C"], "C", "Prostate tissue. 24 h after castration.",
            id="labels-with-full-stops-run-on-with-commas",
        ),
        pytest.param(
            "Survival. 1. Overall survival of all patients. 2. disease-free survival of the same patients.",
            ["1", "2"], "2", "Survival. disease-free survival of the same patients.",
            id="a-number-and-full-stop-before-a-lowercase-word",
        ),
        pytest.param(
            "Small cell carcinoma. A small cell carcinoma of the bladder (case 1). A carcinoma in situ was also present (inset). B small cell carcinoma of the prostate.",
            ["A", "B"], "B", "Small cell carcinoma. small cell carcinoma of the prostate.",
            id="a-bare-a-before-a-lowercase-word-opens-the-run-that-b-continues",
        ),
        pytest.param(
            "Chest scans, as reported [7]. [A] Axial CT of the chest. [B] Coronal CT [8].",
            ["A", "B"], "B", "Chest scans, as reported [7]. Coronal CT [8].",
            id="labels-in-square-brackets-and-references-that-are-not",
        ),
        pytest.param(
            "Brain MRI. Low signal on T1WI [A] and T2WI [B].",
            ["A", "B"], "A", "Brain MRI. Low signal on T1WI",
            id="labels-in-square-brackets-after-their-text",
        ),
        pytest.param(
            "Prostate lesions.[A] Low power view. [B] High power view.",
            ["A", "B"], "A", "Prostate lesions. Low power view.",
            id="a-label-in-square-brackets-glued-to-the-sentence-before",
        ),
        pytest.param(
            "Spine. A - X-ray of the cervical spine. B – A coronal slice; C- Sagittal CT.",
            ["A", "B", "C"], "B", "Spine. A coronal slice",
            id="labels-before-a-dash",
        ),
        pytest.param(
            "Lesions in the lung.A- Axial CT. B- Coronal CT.",
            ["A", "B"], "A", "Lesions in the lung. Axial CT.",
            id="a-label-and-dash-glued-to-the-sentence-before",
        ),
        pytest.param(
            "Blots. Panel A, HEK293 cells were lysed. Panel B, quantification of A. Panels C and D, Western blots.",
            ["A", "B", "C", "D"], "B", "Blots. quantification of A.",
            id="panel-words-before-a-comma",
        ),
        pytest.param(
            "Survival of AKT.Panel A. Mice at 8 weeks. Panel B. 24 h later. Panel C. pA-tail lengths.",
            ["A", "B", "C"], "C", "Survival of AKT. pA-tail lengths.",
            id="panel-words-before-a-full-stop",
        ),
    ],
)
def test_label_forms_inside_a_run(caption, expected, label, subcaption):
    split = split_caption(caption)
    assert split.labels() == expected
    assert split.subcaption(label) == subcaption


def test_a_sentence_ending_in_an_acronym_glued_to_the_next_label_is_cut():
    split = split_caption("AR expression is not modulated by AKT.A. AR staining in the prostate. B. AR staining after 7 days.")
    assert split.labels() == ["A", "B"]
    assert split.subcaption("A") == "AR expression is not modulated by AKT. AR staining in the prostate."
    assert labels("Samples were shipped from the U.S.A. Staining was done on site.") == []
    assert labels("Stains, e.g. The Ki-67 stain, mark cycling cells; i.e. A subset of cells.") == []
    assert labels("Hyphae of fungi, A. fumigatus and A. flavus, grew; cultures, B. subtilis, did not.") == []
    assert labels("Liver CT. A large mass was seen in the liver. A biopsy confirmed it. Blood tests were normal.") == []
    assert labels("Chest. X-ray of the chest. T- and B-cells in E-cadherin stains.") == []
    assert labels("Images courtesy of Dr. A. Maurin, B. Lebrun, C. Puppo, D. Smith.") == []


def test_letters_inside_parentheses_after_closing_labels_are_no_labels():
    # the ")" of "A)" closes no parenthesis, so "(bar A)" ... "(bar C)" are still inside one
    split = split_caption("Ang II. A) Parasites were grown with Ang II. B) The culture was treated without (bar A) or with (bar B) Ang II and kept 11 days without it (bar C).")
    assert split.labels() == ["A", "B"]


def test_a_count_in_lower_case_after_the_last_panel_is_shared():
    split = split_caption("Mice. a) Body weight; b) food intake; c) glucose tolerance test. n = 8 per group.")
    assert split.closing == "n = 8 per group."
    assert split.subcaption("a") == "Mice. Body weight. n = 8 per group."




def test_primed_labels_name_second_views_of_a_panel():
    split = split_caption("Tissues. Muscle cells (A and A'), fat cells (B and B'), and nerve cells (C and C').")
    assert split.labels() == ["A", "A'", "B", "B'", "C", "C'"]
    assert split.subcaption("B'") == "Tissues. fat cells"


def test_a_weak_marker_naming_a_panel_already_named_is_a_citation():
    caption = "Staging. a Axial image. b Coronal image. c Close view. The margin is clear (white arrow, b) and was staged."
    split = split_caption(caption)
    assert split.labels() == ["a", "b", "c"]
    assert split.subcaption("b") == "Staging. Coronal image. The margin is clear (white arrow, b) and was staged."


def test_pieces_are_joined_as_sentences():
    # the title's and the panel's text end with a full stop before the shared note; a colon or a
    # lowercase continuation does not get one
    split = split_caption("Expression in adult tissues: (A) Lung (B) Kidney. Arrows mark vessels.")
    assert split.subcaption("A") == "Expression in adult tissues: Lung. Arrows mark vessels."
    assert join_sentences("Staining for", "AR", "and cells") == "Staining for AR and cells"
    assert join_sentences("Title", "Kidney (B)", "Arrows.") == "Title. Kidney (B). Arrows."


def test_labels_after_their_text_inside_a_label_first_caption():
    split = split_caption(
        "Pim1 enhances tumorigenicity. (A) Soft agar assay of LNCaP cells. Grafted cells developed larger "
        "tumors in size (B) and weight (C). (D) Kaplan-Meier survival analysis."
    )
    assert split.style == "prefix" and split.labels() == ["A", "B", "C", "D"]
    assert split.subcaption("A") == "Pim1 enhances tumorigenicity. Soft agar assay of LNCaP cells."
    # the items share the sentence's opening up to its last preposition
    assert split.subcaption("B") == "Pim1 enhances tumorigenicity. Grafted cells developed larger tumors in size"
    assert split.subcaption("C") == "Pim1 enhances tumorigenicity. Grafted cells developed larger tumors in weight"
    assert split.subcaption("D") == "Pim1 enhances tumorigenicity. Kaplan-Meier survival analysis."


def test_a_marker_naming_a_run_keeps_its_opening_and_the_rest_of_the_sentence():
    split = split_caption(
        "Ghrelin in fetal testes. (A, B, C) Sections at day 30 showing immunostaining for ghrelin (A), "
        "GHSR-1a (B) and PCNA (C) in the fetal testis. (D) A negative control."
    )
    assert split.subcaption("B") == "Ghrelin in fetal testes. Sections at day 30 showing immunostaining for GHSR-1a in the fetal testis."
    assert split.subcaption("B", keep_label=True) == (
        "Ghrelin in fetal testes. (A, B, C) Sections at day 30 showing immunostaining for GHSR-1a (B) in the fetal testis."
    )
    assert split.subcaption("D") == "Ghrelin in fetal testes. A negative control."


def test_a_lone_label_closing_a_sentence_that_a_label_opened_stays_a_citation_of_it():
    # "(D-F) ... branch points (F)." names one of the panels its sentence is already about
    split = split_caption("Traces. (A-C) Automated traces. (D-F) Manual traces show many false branch points (F). Errors follow.")
    for label in "DEF":
        assert "Manual traces show many false branch points" in split.subcaption(label)


def test_list_items_share_their_opening_unless_asked_to_read_as_written():
    split = split_caption("Right quadrate of Euhelopus in rostral (A), dorsal (B), and medial (C) views.")
    assert split.style == "postfix"
    assert split.subcaption("B") == "Right quadrate of Euhelopus in dorsal views."
    assert split.subcaption("A", share_list_heads=False) == "Right quadrate of Euhelopus in rostral views."
    assert split.subcaption("B", share_list_heads=False) == "dorsal views."
    assert split.subcaption("C", keep_label=True) == "Right quadrate of Euhelopus in medial (C) views."


def test_a_range_of_labels_closed_by_a_full_stop_opens_their_text():
    caption = "Membrane tubules. A–E. Autoubiquitination assays. F. Channel ubiquitination. G. Model."
    assert labels(caption) == ["A", "B", "C", "D", "E", "F", "G"]
    assert split_caption(caption).subcaption("C") == "Membrane tubules. Autoubiquitination assays."
    assert labels("Heatmaps. A. Peaks. B. Signal. C. Venn diagram. D-E. Metaplots. F. Protein levels.") == list("ABCDEF")


def test_a_name_opening_in_greek_after_a_letter_and_full_stop_is_a_label_s_text():
    assert labels("Signalling. A. Western blot. B. αENaC ubiquitination. C. β-catenin staining.") == ["A", "B", "C"]
    assert labels("Bacteria. Cultures of E. coli and B. subtilis were grown.") == []  # species stay names
