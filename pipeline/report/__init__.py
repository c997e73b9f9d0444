"""The HTML report of a run (``figcurate report OUT``): funnel, drop reasons, distributions, gallery.

``run_output`` reads the output folder, ``distributions`` and ``charts`` turn the index into inline
SVG, ``gallery`` and ``thumbnails`` pick samples and rejects and embed their images, ``page`` writes
the HTML, and ``build`` ties them together.
"""

from pipeline.report.build import ReportResult, build_report
from pipeline.report.run_output import ReportError

__all__ = ["ReportError", "ReportResult", "build_report"]
