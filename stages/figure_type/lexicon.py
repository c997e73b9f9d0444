"""Caption words that point at a figure type, with how strongly they do.

Terms are written as they appear in captions and are tokenised by the labeller's own tokenizer,
so "T2-weighted", "PET/CT" and "Masson's trichrome" are written naturally. When matching:
- a term token written in lower case matches any case ("western blot" matches "Western blot");
- a term token with an upper-case letter matches only that spelling, for abbreviations that
  collide with words ("PET" not "pet", "OCT" not "Oct.", "SEM" as a word, not "sem" in "± sem");
- hyphens and dashes between tokens, a possessive "'s", a plural "s" and a trailing "+" are
  ignored on both sides ("X-ray" = "X ray", "blots" = "blot", "GFP+" = "GFP");
- at each position the longest term wins, so "fundus autofluorescence" is one fundus term and
  not also a fluorescence one, and the ``NEUTRAL`` phrases swallow terms that mean something else
  there ("OCT compound" is an embedding medium, "± SEM" a standard error).

Weights: a term naming the technique (STRONG), a term typical of it (MEDIUM), a hint (WEAK), and
statistics boilerplate that most quantitative panels carry whatever else the figure shows (HINT).
"""

from __future__ import annotations

STRONG, MEDIUM, WEAK, HINT = 3.0, 2.0, 1.0, 0.5

LEXICON: dict[str, dict[float, tuple[str, ...]]] = {
    "radiology.ct": {
        STRONG: ("computed tomography", "CT", "micro-CT", "microct", "μct", "cbct", "HRCT"),
        MEDIUM: ("CTA", "hounsfield"),
        WEAK: ("tomography", "tomogram"),
    },
    "radiology.mri": {
        STRONG: ("mri", "magnetic resonance imaging", "magnetic resonance", "MR image", "MR imaging",
                 "MR angiography", "fmri", "t1-weighted", "t2-weighted", "t1w", "t2w", "t1wi", "t2wi", "flair",
                 "diffusion-weighted", "dwi", "diffusion tensor imaging"),
        MEDIUM: ("MRA", "DTI", "adc map", "gadolinium", "tractography"),
    },
    "radiology.xray": {
        STRONG: ("x-ray", "radiograph", "radiography", "radiographic", "roentgenogram", "chest film", "plain film",
                 "CXR", "mammogram", "mammography", "fluoroscopy", "fluoroscopic", "digital subtraction angiography",
                 "orthopantomogram"),
        MEDIUM: ("DSA", "cephalometric"),
        WEAK: ("angiogram",),
    },
    "radiology.ultrasound": {
        STRONG: ("ultrasound", "ultrasonography", "ultrasonographic", "sonography", "sonographic", "sonogram",
                 "echocardiography", "echocardiographic", "echocardiogram", "elastography", "CEUS",
                 "endoscopic ultrasound", "US image"),
        MEDIUM: ("doppler", "b-mode", "m-mode", "hypoechoic", "hyperechoic", "anechoic", "EUS"),
        WEAK: ("echogenic", "transvaginal"),
    },
    "radiology.pet": {
        STRONG: ("PET", "positron emission tomography", "SPECT", "single-photon emission computed tomography",
                 "PET/CT", "PET-CT", "SPECT/CT", "SPECT-CT", "PET/MRI", "PET/MR", "scintigraphy", "scintigraphic",
                 "scintigram", "18f-fdg", "gamma camera"),
        MEDIUM: ("fdg", "suvmax", "radiotracer", "tracer uptake", "bone scan", "nuclear medicine", "99mtc"),
        WEAK: ("SUV", "psma"),
    },
    "histopathology": {
        STRONG: ("h&e", "HE staining", "hematoxylin and eosin", "haematoxylin and eosin", "hematoxylin-eosin",
                 "haematoxylin-eosin", "histology", "histological", "histologic", "histopathology",
                 "histopathological", "histopathologic", "immunohistochemistry", "immunohistochemical", "ihc",
                 "masson trichrome", "trichrome", "sirius red", "picrosirius red", "periodic acid-schiff",
                 "PAS staining", "alcian blue", "oil red o", "van gieson", "von kossa", "ffpe", "paraffin-embedded",
                 "formalin-fixed"),
        MEDIUM: ("hematoxylin", "haematoxylin", "eosin", "toluidine blue", "DAB", "paraffin section"),
        WEAK: ("biopsy", "tissue section", "photomicrograph"),
    },
    "microscopy.light": {
        STRONG: ("brightfield", "bright-field", "phase contrast", "DIC",
                 "differential interference contrast", "light microscopy", "light microscope", "light micrograph"),
        MEDIUM: ("stereomicroscope", "dissecting microscope", "giemsa", "gram stain", "gram staining", "blood smear"),
        WEAK: ("microscopy", "microscopic", "microscope", "micrograph", "crystal violet"),
    },
    "microscopy.fluorescence": {
        STRONG: ("immunofluorescence", "immunofluorescent", "fluorescence", "fluorescence microscopy", "confocal",
                 "confocal microscopy", "two-photon", "multiphoton", "super-resolution", "epifluorescence", "TIRF",
                 "FISH", "fluorescence in situ hybridization", "IF staining"),
        MEDIUM: ("fluorescent", "dapi", "hoechst", "fitc", "alexa fluor", "phalloidin", "immunocytochemistry",
                 "STED", "STORM", "light-sheet", "calcium imaging", "live imaging", "live-cell imaging",
                 "autofluorescence", "merged image"),
        WEAK: ("GFP", "EGFP", "YFP", "RFP", "CFP", "mcherry", "tdtomato", "immunostaining", "immunolabeling",
               "merged", "merge", "time-lapse", "widefield", "IF"),
    },
    "microscopy.electron": {
        STRONG: ("electron microscopy", "electron micrograph", "electron microscope", "transmission electron microscopy",
                 "scanning electron microscopy", "TEM", "SEM image", "SEM micrograph", "cryo-em", "cryoem",
                 "cryo-electron microscopy", "cryo-electron tomography", "cryo-et", "immunogold", "electron tomography"),
        MEDIUM: ("ultrastructure", "ultrastructural", "negative stain", "negative staining", "EM", "freeze fracture",
                 "2d class average"),
        WEAK: ("SEM", "density map"),
    },
    "endoscopy": {
        STRONG: ("endoscopy", "endoscopic", "endoscope", "colonoscopy", "colonoscopic", "gastroscopy", "gastroscopic",
                 "esophagogastroduodenoscopy", "bronchoscopy", "bronchoscopic", "cystoscopy", "cystoscopic",
                 "arthroscopy", "arthroscopic", "hysteroscopy", "capsule endoscopy", "narrow-band imaging"),
        MEDIUM: ("laparoscopy", "laparoscopic", "EGD", "NBI", "sigmoidoscopy", "laryngoscopy"),
    },
    "clinical_photo.dermatology": {
        STRONG: ("dermoscopy", "dermoscopic", "dermatoscopy", "skin lesion", "cutaneous lesion"),
        MEDIUM: ("rash", "erythema", "erythematous", "papule", "macule", "pustule"),
        WEAK: ("scaly", "hyperpigmentation", "alopecia"),
    },
    "clinical_photo.other": {
        STRONG: ("intraoperative", "intra-operative", "surgical field", "operative view", "gross specimen"),
        MEDIUM: ("clinical photograph", "clinical photo", "clinical picture", "gross appearance", "gross pathology",
                 "macroscopic", "intraoral"),
        WEAK: ("photograph", "photo", "macroscopically"),
    },
    "ophthalmology.fundus": {
        STRONG: ("fundus", "fundus photograph", "fundus photography", "fundoscopy", "funduscopic", "ophthalmoscopy",
                 "fluorescein angiography", "fluorescein angiogram", "indocyanine green angiography",
                 "fundus autofluorescence", "retinal photograph", "FFA", "ICGA"),
        MEDIUM: ("FAF", "scanning laser ophthalmoscopy"),
        WEAK: ("optic disc",),
    },
    "ophthalmology.oct": {
        STRONG: ("optical coherence tomography", "OCT", "SD-OCT", "SS-OCT", "OCTA"),
        MEDIUM: ("b-scan",),
        WEAK: ("retinal thickness",),
    },
    "gel_blot": {
        STRONG: ("western blot", "western blotting", "immunoblot", "immunoblotting", "northern blot", "southern blot",
                 "dot blot", "slot blot", "sds-page", "native page", "agarose gel", "gel electrophoresis", "coomassie",
                 "zymography", "zymogram", "emsa", "electrophoretic mobility shift"),
        MEDIUM: ("blot", "blotting", "electrophoresis", "silver staining", "loading control", "pcr product", "kda",
                 "lane"),
        WEAK: ("gel", "band", "ladder", "immunoprecipitation", "densitometry"),
    },
    "chart": {
        STRONG: ("bar graph", "bar chart", "bar plot", "line graph", "line chart", "line plot", "scatter plot",
                 "scatterplot", "box plot", "boxplot", "box-and-whisker", "violin plot", "dot plot", "pie chart",
                 "histogram", "heat map", "heatmap", "forest plot", "funnel plot", "volcano plot", "kaplan-meier",
                 "survival curve", "roc curve", "receiver operating characteristic", "dose-response curve",
                 "growth curve"),
        MEDIUM: ("quantification", "survival analysis", "ROC", "principal component analysis", "pca", "umap", "t-sne",
                 "tsne", "dose-response", "time course", "fold change", "flow cytometry",
                 "fluorescence-activated cell sorting", "FACS", "mean fluorescence intensity", "linear regression",
                 "relative expression"),
        WEAK: ("error bar", "graph", "plot", "curve", "quantified", "relative", "correlation", "regression", "kinetic",
               "fluorescence intensity", "auc", "represent sem", "indicate sem", "show sem", "depict sem"),
        HINT: ("mean ± sd", "mean ± sem", "mean ± s.e.m.", "± sd", "± sem", "± s.e.m.", "t-test", "anova"),
    },
    "diagram": {
        STRONG: ("schematic", "schematic diagram", "diagram", "flowchart", "flow chart", "flow diagram", "workflow",
                 "cartoon", "proposed model", "working model", "hypothetical model", "study design", "consort",
                 "prisma", "graphical abstract"),
        MEDIUM: ("schema", "illustration", "pipeline", "experimental design", "experimental scheme", "timeline",
                 "domain structure", "domain architecture", "gene structure"),
        WEAK: ("overview", "pathway", "mechanism", "construct"),
    },
    "chemical_structure": {
        STRONG: ("chemical structure", "structural formula", "synthetic route", "synthetic scheme", "reaction scheme",
                 "reagents and conditions"),
        MEDIUM: ("molecular structure", "chemical formula"),
        WEAK: ("synthesis", "derivative", "analogue", "analog"),
    },
}

# Phrases that contain a term above but are not evidence for it: matched, and worth nothing.
NEUTRAL: tuple[str, ...] = (
    "OCT compound", "OCT-embedded", "OCT medium", "CT value", "PET membrane", "PET film", "PET bottle",
    "x-ray crystallography", "x-ray diffraction", "x-ray structure", "x-ray crystal structure", "x-ray scattering",
    "x-ray photoelectron", "energy-dispersive x-ray", "fluorescence-activated",
)
