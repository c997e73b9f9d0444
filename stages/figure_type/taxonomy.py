"""The figure-type taxonomy, as data: dotted names (``group.kind``), titles, and CLIP prompts.

Order matters: it breaks ties between equally scored types, so more specific imaging types come
before the catch-alls (charts, diagrams), and ``other`` comes last.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureTypeEntry:
    name: str
    title: str
    description: str
    clip_prompts: tuple[str, ...]


TAXONOMY: tuple[FigureTypeEntry, ...] = (
    FigureTypeEntry(
        "radiology.ct", "Computed tomography",
        "CT and micro-CT slices, reconstructions and CT angiography.",
        ("an axial CT scan", "a computed tomography slice of the chest", "a micro-CT reconstruction of bone"),
    ),
    FigureTypeEntry(
        "radiology.mri", "Magnetic resonance imaging",
        "MR images of any weighting (T1, T2, FLAIR, diffusion), MR angiography and functional MRI maps.",
        ("a T2-weighted MRI of the brain", "a magnetic resonance image", "a sagittal MRI slice of the spine"),
    ),
    FigureTypeEntry(
        "radiology.xray", "Radiography",
        "Plain radiographs, mammograms, fluoroscopy and X-ray angiograms.",
        ("a chest X-ray radiograph", "a plain film radiograph of a bone", "a mammogram"),
    ),
    FigureTypeEntry(
        "radiology.ultrasound", "Ultrasound",
        "B-mode and Doppler ultrasound, echocardiography and elastography.",
        ("an ultrasound image", "a grayscale B-mode sonogram", "an echocardiogram of the heart"),
    ),
    FigureTypeEntry(
        "radiology.pet", "Nuclear imaging (PET, SPECT)",
        "PET, SPECT, PET/CT fusion images, scintigraphy and bone scans.",
        ("a PET scan with tracer uptake", "a PET/CT fusion image", "a bone scintigraphy image"),
    ),
    FigureTypeEntry(
        "histopathology", "Histopathology",
        "Stained tissue sections under brightfield: H&E, special stains and immunohistochemistry.",
        ("an H&E stained tissue section", "a histopathology slide under the microscope",
         "an immunohistochemistry image with brown DAB staining"),
    ),
    FigureTypeEntry(
        "microscopy.light", "Light microscopy",
        "Brightfield, phase-contrast and DIC images of cells, smears and organisms (not stained tissue sections).",
        ("a phase contrast microscopy image of cultured cells", "a brightfield micrograph", "a stained blood smear"),
    ),
    FigureTypeEntry(
        "microscopy.fluorescence", "Fluorescence microscopy",
        "Widefield, confocal and super-resolution fluorescence, immunofluorescence, FISH and live-cell imaging.",
        ("a fluorescence microscopy image of cells", "a confocal image with DAPI stained nuclei",
         "an immunofluorescence image in green and red channels"),
    ),
    FigureTypeEntry(
        "microscopy.electron", "Electron microscopy",
        "Transmission and scanning electron micrographs, cryo-EM images and maps.",
        ("a transmission electron micrograph", "a scanning electron microscopy image", "a grayscale cryo-EM micrograph"),
    ),
    FigureTypeEntry(
        "endoscopy", "Endoscopy",
        "Images taken through an endoscope: gastroscopy, colonoscopy, bronchoscopy, laparoscopy, cystoscopy.",
        ("an endoscopic image of the stomach", "a colonoscopy view of a polyp", "a bronchoscopy image"),
    ),
    FigureTypeEntry(
        "clinical_photo.dermatology", "Dermatology photograph",
        "Clinical photographs and dermoscopy of skin, hair and nails.",
        ("a clinical photograph of a skin lesion", "a dermoscopy image", "a photograph of a rash on the skin"),
    ),
    FigureTypeEntry(
        "clinical_photo.other", "Clinical photograph",
        "Photographs of patients, intraoperative views and gross specimens.",
        ("an intraoperative photograph", "a clinical photograph of a patient", "a photograph of a gross surgical specimen"),
    ),
    FigureTypeEntry(
        "ophthalmology.fundus", "Fundus photograph",
        "Colour fundus photographs, fundus autofluorescence and fluorescein or ICG angiography of the retina.",
        ("a color fundus photograph of the retina", "a fluorescein angiogram of the retina"),
    ),
    FigureTypeEntry(
        "ophthalmology.oct", "Optical coherence tomography",
        "OCT B-scans, OCT angiography and retinal thickness maps.",
        ("an optical coherence tomography scan of the retina", "an OCT B-scan of the macula"),
    ),
    FigureTypeEntry(
        "gel_blot", "Gel or blot",
        "Western, northern, southern and dot blots, electrophoresis gels and zymograms.",
        ("a western blot with protein bands", "an agarose gel electrophoresis image", "an immunoblot with a loading control"),
    ),
    FigureTypeEntry(
        "chart", "Chart or plot",
        "Quantitative plots: bar, line, scatter, box and violin plots, survival curves, heat maps, forest plots.",
        ("a bar chart with error bars", "a line graph", "a Kaplan-Meier survival curve", "a heat map"),
    ),
    FigureTypeEntry(
        "diagram", "Diagram",
        "Schematics, flowcharts, pathway and mechanism models, study designs and workflows.",
        ("a schematic diagram", "a flowchart", "a diagram of a signaling pathway"),
    ),
    FigureTypeEntry(
        "chemical_structure", "Chemical structure",
        "Structural formulas of molecules and reaction schemes.",
        ("a chemical structure drawing", "a structural formula of a molecule", "a chemical reaction scheme"),
    ),
    FigureTypeEntry(
        "other", "Other",
        "Anything the labeller found no evidence for.",
        ("a figure from a scientific article", "a photograph of laboratory equipment"),
    ),
)

FIGURE_TYPES: tuple[str, ...] = tuple(entry.name for entry in TAXONOMY)
OTHER = "other"


def figure_type_group(name: str) -> str:
    """The group of a dotted type name: ``radiology.ct`` -> ``radiology``, ``chart`` -> ``chart``."""
    return name.split(".", 1)[0]
