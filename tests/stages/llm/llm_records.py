"""Sample records for the llm stage's tests."""

import pyarrow as pa
from builders import figure_row, image_bytes

from schemas.records import SAMPLE

CAPTIONS = [
    "Axial chest CT showing bilateral ground-glass opacities.",
    "Western blot of Nrf2 in liver lysates; beta-actin as loading control.",
    "H&E staining of the liver at 20x.",
    "Growth curves of three strains at 37 C.",
]


def llm_rows(n: int = 4) -> list[dict]:
    return [
        figure_row(
            i + 1,
            caption=CAPTIONS[i % len(CAPTIONS)],
            title="Findings in a small study",
            mentions=[f"Figure {i + 1} shows the main result.", "It was repeated twice."],
            image=image_bytes((64, 48)),
        )
        for i in range(n)
    ]


def sample_table(rows: list[dict] | None = None) -> pa.Table:
    return pa.Table.from_pylist(rows if rows is not None else llm_rows(), schema=SAMPLE)
