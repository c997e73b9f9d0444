from pipeline.evaluation.evaluate import similarity
from pipeline.evaluation.marker_forms import ALL_FORMS, marker_form_consistency, rewritable, rewrite


def test_only_captions_whose_labels_all_open_clauses_are_rewritten():
    assert rewritable("Scans. (A) Axial CT. (B) Coronal CT.")
    assert not rewritable("Scans. Low signal on T1WI (A) and T2WI (B).")  # inside a sentence: no "A." form
    assert not rewritable("Scans. (A) Axial CT.")
    assert rewrite("Scans. (A) Axial CT. (B) Coronal CT.", "A.") == "Scans. A. Axial CT. B. Coronal CT."
    assert rewrite("Scans. (a) axial. (b) coronal.", "Panel A:") == "Scans. Panel a: axial. Panel b: coronal."
    assert rewrite("Scans. A. Axial CT. B. Coronal CT.", "(A)") == "Scans. (A) Axial CT. (B) Coronal CT."
    assert not rewritable("Plants. A. thaliana seedlings. B. napus seedlings.")  # no labels the rules find


def test_a_form_the_rules_read_keeps_its_labels_and_one_they_miss_does_not():
    report = marker_form_consistency(["Scans of the chest. (A) Axial CT of the nodule. (B) Coronal CT of the nodule. (C) Sagittal CT."], similarity)
    assert report["captions"] == 1
    assert report["A)"] == {"labels_same": 1.0, "subcaption_similarity": 1.0}
    assert set(report) == {"captions", *ALL_FORMS}
    # "(A) ... (B) ..." written bare before lower-case words: "A represents ... B represents ..." (the article, were no "B" to follow)
    counted = marker_form_consistency(["Burden profiles. (A) represents a drug-sensitive area; (B) represents a resistant area."], similarity)
    assert counted["A"]["labels_same"] == 1.0 and counted["A."]["labels_same"] == 1.0
    # in lower case, "9 days (d)" reads as a label among "(a)", "(b)": that form loses the caption
    missed = marker_form_consistency(["Cells. (A) Cells treated for 9 days (d) with drug. (B) Untreated cells."], similarity)
    assert missed["(A)"]["labels_same"] == 1.0
    assert missed["(a)"]["labels_same"] == 0.0 and missed["(a)"]["subcaption_similarity"] is None


def test_lower_case_forms_compare_labels_whatever_their_case():
    assert rewrite("Scans. (A) Axial CT. (B) Coronal CT.", "a.") == "Scans. a. Axial CT. b. Coronal CT."
    assert rewrite("Scans. A. Axial CT. B. Coronal CT.", "(A)Axial") == "Scans. (A)Axial CT. (B)Coronal CT."
    report = marker_form_consistency(["Scans of the chest. (A) Axial CT of the nodule. (B) Coronal CT of the nodule."], similarity)
    assert report["(a)"] == {"labels_same": 1.0, "subcaption_similarity": 1.0}
