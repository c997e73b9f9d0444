"""The stages a run can plan, by name, and the order records flow through them.

Stages are listed here, on the driver's side, and nowhere else: no stage imports this list back,
so ``stages/`` has no import circle. Ray workers build a stage from this table by its name.
"""

from __future__ import annotations

from stages.chaos import Chaos
from stages.clip.preprocess import ClipPreprocess
from stages.clip.score import ClipScore
from stages.decontaminate.stage import Decontaminate
from stages.dedup.stage import Dedup, ImageHashes
from stages.fetch import Fetch
from stages.fetch_media.stage import FetchMedia
from stages.figure_type.stage import FigureType
from stages.filters.stage import Filters
from stages.images.stage import Images
from stages.llm.stage import LlmStage
from stages.parse_jats.stage import ParseJats
from stages.runtime.base import Stage
from stages.subcaptions.stage import Subcaptions
from stages.subfigures.stage import Subfigures

# Every stage by name. The configurable ones keep this order in the config model, so a run's
# recorded settings (run.json) read the same from one release to the next.
STAGES: dict[str, type[Stage]] = {
    stage.name: stage
    for stage in (
        Chaos, Fetch, FetchMedia, Images, ParseJats, ClipPreprocess, ClipScore, ImageHashes, Dedup,
        Decontaminate, FigureType, Filters, LlmStage, Subcaptions, Subfigures,
    )
}  # fmt: skip

# (stage name, the unit its output is counted in), in the order records flow; helpers a stage
# needs (``companions``: clip_preprocess, image_hashes) are planned just before it.
FLOW: list[tuple[str, str]] = [
    ("fetch", "article"),
    ("parse_jats", "figure"),
    ("fetch_media", "figure"),
    ("images", "figure"),
    ("subfigures", "figure"),
    ("subcaptions", "panel"),
    ("filters", "panel"),
    ("figure_type", "panel"),
    ("decontaminate", "panel"),
    ("dedup", "panel"),
    ("chaos", "panel"),
    ("clip_score", "panel"),
    ("llm", "panel"),
]
