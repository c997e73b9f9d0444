"""The caption labeller: typical PMC captions per type, token-boundary traps, abbreviations, sources, ties."""

import pytest

from stages.figure_type.labeller import (
    CONTEXT_WEIGHT,
    FigureLabel,
    label_figure,
    make_nlp,
    term_index,
)
from stages.figure_type.lexicon import LEXICON
from stages.figure_type.taxonomy import FIGURE_TYPES, TAXONOMY, figure_type_group

CAPTIONS = {
    "radiology.ct": "Contrast-enhanced axial CT of the abdomen showing a hypodense lesion in the right hepatic lobe (arrow).",
    "radiology.mri": "Sagittal T2-weighted and post-gadolinium T1-weighted images of the cervical spine.",
    "radiology.xray": "Anteroposterior radiograph of the left knee at 6 months; chest X-rays were normal.",
    "radiology.ultrasound": "Transabdominal ultrasonography showing a hypoechoic mass with increased Doppler flow.",
    "radiology.pet": "Maximum-intensity projection of 18F-FDG PET/CT demonstrating multiple foci of tracer uptake.",
    "histopathology": "Representative H&E and Ki-67 immunohistochemistry of FFPE tumour sections. Original magnification ×200.",
    "microscopy.light": "Phase-contrast images of HeLa cells 24 h after transfection. Scale bar, 50 μm.",
    "microscopy.fluorescence": "Confocal images of cardiomyocytes immunostained for α-actinin (green); nuclei counterstained with DAPI (blue).",
    "microscopy.electron": "Transmission electron micrographs of mitochondria in control and knockout muscle.",
    "endoscopy": "Colonoscopy view of a 12-mm sessile polyp in the ascending colon before resection.",
    "clinical_photo.dermatology": "Dermoscopic image of a pigmented skin lesion on the patient's back.",
    "clinical_photo.other": "Intraoperative view after exposure of the tumour through a midline incision.",
    "ophthalmology.fundus": "Colour fundus photograph of the right eye showing cotton-wool spots.",
    "ophthalmology.oct": "Spectral-domain OCT of the macula showing subretinal fluid.",
    "gel_blot": "Western blot analysis of p-AKT and total AKT; GAPDH served as loading control.",
    "chart": "Kaplan-Meier survival curves of patients stratified by CD8 density (log-rank test).",
    "diagram": "Schematic diagram of the study workflow and sample processing.",
    "chemical_structure": "Chemical structures of compounds 1-5. Reagents and conditions: (a) NaH, DMF, 0 °C.",
}


@pytest.mark.parametrize("expected,caption", list(CAPTIONS.items()), ids=list(CAPTIONS))
def test_typical_caption_gets_its_type(expected, caption):
    label = label_figure(caption)
    assert (label.figure_type, label.source) == (expected, "caption")
    assert 0.5 <= label.confidence <= 1.0


def test_every_type_of_the_taxonomy_has_a_caption_here():
    assert set(CAPTIONS) == set(FIGURE_TYPES) - {"other"}


@pytest.mark.parametrize("text", [
    "The effect of each competitor was compared.",
    "An octopus was filmed in the tank.",
    "Survey of pet owners recruited in Oct. 2019.",
    "Section of the protocol; defects were not detected.",
])
def test_words_that_contain_or_resemble_abbreviations_are_no_evidence(text):
    assert label_figure(text) == FigureLabel("other", "none", 0.0, [])


def test_abbreviation_case_decides_a_match():
    assert label_figure("PET of the thorax.").figure_type == "radiology.pet"
    assert label_figure("pet of the thorax.").figure_type == "other"
    assert label_figure("OCT of the retina.").figure_type == "ophthalmology.oct"
    assert label_figure("Sections of OCT-embedded liver.").figure_type == "other"


def test_defined_abbreviation_counts_for_its_long_form_when_used_alone():
    definition_only = label_figure("Scanning laser ophthalmoscopy (SLO) at baseline.")
    used_again = label_figure("Scanning laser ophthalmoscopy (SLO) at baseline. SLO at 6 months.")
    assert definition_only.abbreviations == used_again.abbreviations == [("SLO", "Scanning laser ophthalmoscopy")]
    assert definition_only.figure_type == used_again.figure_type == "ophthalmology.fundus"
    assert used_again.confidence > definition_only.confidence
    assert label_figure("SLO at 6 months.").figure_type == "other"

    oct_defined = label_figure("Optical coherence tomography (OCT) at baseline.", ["Thickness on the OCT scans decreased."])
    oct_undefined = label_figure("Images at baseline.", ["Thickness on the OCT scans decreased."])
    assert oct_defined.abbreviations == [("OCT", "Optical coherence tomography")]
    assert oct_undefined.figure_type == "ophthalmology.oct"


def test_definition_from_the_caption_is_applied_to_a_short_form_in_the_mentions():
    defined = label_figure("Magnetic resonance angiography (MRAG) of the circle of Willis.", ["MRAG showed occlusion."])
    once = label_figure("Magnetic resonance angiography (MRAG) of the circle of Willis.")
    assert defined.figure_type == once.figure_type == "radiology.mri"
    assert defined.confidence > once.confidence


def test_short_form_defined_as_something_else_is_not_matched_as_the_technique():
    assert label_figure("SEM of the sample surface.").figure_type == "microscopy.electron"
    label = label_figure("Values are means with the standard error of the mean (SEM). SEM is shown for n = 3.")
    assert label.figure_type == "other"
    assert label.abbreviations == [("SEM", "standard error of the mean")]


def test_definition_counts_once_not_again_for_its_short_form():
    assert label_figure("Computed tomography (CT) of the chest.").confidence == label_figure("CT of the chest.").confidence


def test_statistics_boilerplate_does_not_outweigh_a_named_technique():
    label = label_figure("H&E staining of murine liver. Data are mean ± SEM; n = 5; P < 0.05, two-tailed t-test.")
    assert label.figure_type == "histopathology"
    assert label_figure("Data are mean ± SEM; two-tailed t-test.").figure_type == "chart"


def test_longest_term_wins_over_the_terms_inside_it():
    assert label_figure("Fundus autofluorescence of the left eye.").figure_type == "ophthalmology.fundus"
    assert label_figure("Fluorescence-activated cell sorting of splenocytes.").figure_type == "chart"


def test_hyphens_plurals_and_markers_are_normalised():
    assert label_figure("X ray of the hand.").figure_type == label_figure("X-rays of the hand.").figure_type == "radiology.xray"
    assert label_figure("Micro-CT of femurs.").figure_type == label_figure("µCT of femurs.").figure_type == "radiology.ct"
    assert label_figure("mean±SD").figure_type == "chart"


def test_evidence_only_in_mentions_gives_source_mentions_and_lower_confidence():
    mentions = ["Western blotting confirmed the loss of SOX9 (Figure 3B)."]
    label = label_figure("Loss of SOX9 in knockout cells.", mentions)
    assert (label.figure_type, label.source) == ("gel_blot", "mentions")
    assert label.confidence < label_figure("Western blotting confirmed the loss of SOX9.").confidence
    assert label_figure("Loss of SOX9 in knockout cells.", mentions[0]) == label


def test_caption_evidence_outweighs_the_same_evidence_in_mentions():
    label = label_figure("Confocal images of organoids.", ["Organoids were imaged by light-sheet microscopy and by CT."])
    assert (label.figure_type, label.source) == ("microscopy.fluorescence", "caption")
    assert CONTEXT_WEIGHT < 1


@pytest.mark.parametrize("text", ["", None, "   ", "(A) (B)"])
def test_no_text_gives_other(text):
    assert label_figure(text, None) == FigureLabel("other", "none", 0.0, [])


def test_ties_go_to_the_first_type_in_taxonomy_order_whatever_the_word_order():
    first = label_figure("MRI and CT of the pelvis.")
    second = label_figure("CT and MRI of the pelvis.")
    assert first == second
    assert first.figure_type == "radiology.ct"
    assert first.confidence == pytest.approx(second.confidence) and first.confidence < 0.5


def test_confidence_grows_with_evidence_and_drops_with_competition():
    one = label_figure("Axial CT of the chest.").confidence
    two = label_figure("Axial CT of the chest; computed tomography at follow-up.").confidence
    contested = label_figure("Axial CT of the chest and its histology.").confidence
    assert contested < one < two <= 1.0


def test_the_pipeline_is_built_once_per_process():
    assert make_nlp() is make_nlp()
    assert term_index(make_nlp()) is term_index(make_nlp())


def test_taxonomy_names_are_unique_and_typed_lexicon_terms_exist_for_each():
    assert len(set(FIGURE_TYPES)) == len(FIGURE_TYPES) == len(TAXONOMY)
    assert FIGURE_TYPES[-1] == "other"
    assert set(LEXICON) == set(FIGURE_TYPES) - {"other"}
    for entry in TAXONOMY:
        assert 2 <= len(entry.clip_prompts) <= 4, entry.name
        assert entry.title and entry.description
        if entry.name != "other":
            assert any(LEXICON[entry.name].values()), entry.name


def test_groups_come_from_the_dotted_names():
    assert figure_type_group("radiology.ct") == "radiology"
    assert figure_type_group("chart") == "chart"
    assert {figure_type_group(n) for n in FIGURE_TYPES} >= {"radiology", "microscopy", "ophthalmology", "clinical_photo"}
