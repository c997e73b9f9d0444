"""The bounds every PDF is read under, and the error that reports which bound (or defect) stopped it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.drop_reasons import check_reason


class PdfLimits(BaseModel):
    """Time, memory and size bounds for reading one PDF, and the size of the rendered crops."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(30.0, gt=0, le=3600, description="wall-clock seconds the PDF worker may run before it is killed")
    max_memory_mb: int = Field(
        1024,
        ge=16,
        le=65536,
        description="address space (MiB) the PDF worker may add on top of the interpreter and PyMuPDF once loaded",
    )
    max_pages: int = Field(200, ge=1, description="a PDF with more pages is rejected as pdf_too_large (none are searched)")
    max_bytes: int = Field(100 * 1024 * 1024, ge=1, description="a PDF with more bytes is rejected before any work starts")
    dpi: int = Field(150, ge=36, le=2400, description="resolution a figure region is rendered at, lowered when max_side needs it")
    max_side: int = Field(2048, ge=64, le=20000, description="longest side in pixels of a rendered crop")


class PdfError(Exception):
    """A PDF that cannot be read within its limits; ``reason`` is a drop reason from schemas.drop_reasons."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = check_reason(reason)
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
