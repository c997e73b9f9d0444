"""Arrow schemas of the records that cross each stage boundary.

Every record carries its identity (pmcid, version, figure_index, panel_index, sample_key), the
work unit it belongs to, and three status columns. A record with ``drop_reason`` set is a
reject: it keeps flowing (payload columns null) so that nothing is lost and the writer can
account for it. Stages add columns; they never rename them.
"""

import pyarrow as pa

SCHEMA_VERSION = 3

IDENTITY = [
    pa.field("pmcid", pa.string(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("work_unit", pa.int32(), nullable=False),
    pa.field("figure_index", pa.int32()),
    pa.field("panel_index", pa.int32()),
    pa.field("sample_key", pa.string()),
]

STATUS = [
    pa.field("drop_stage", pa.string()),
    pa.field("drop_reason", pa.string()),
    pa.field("drop_detail", pa.string()),
]

SOURCE = [pa.field("source_prefix", pa.string())]

ARTICLE_META = [
    pa.field("pmid", pa.string()),
    pa.field("doi", pa.string()),
    pa.field("title", pa.string()),
    pa.field("citation", pa.string()),
    pa.field("license", pa.string()),
    pa.field("license_raw", pa.string()),
    # where the license was read: metadata_json (the bucket's JSON), or the JATS element (license_ref,
    # license_href, license_type, license_text, copyright_statement) for sources without the JSON
    pa.field("license_source", pa.string()),
    pa.field("is_manuscript", pa.bool_()),
    pa.field("is_retracted", pa.bool_()),
    pa.field("article_type", pa.string()),  # <article article-type>: research-article, correction, ...
    # from the JATS front matter (parse_jats), for every source
    pa.field("journal", pa.string()),
    pa.field("year", pa.int32()),
    pa.field("subjects", pa.list_(pa.string())),
    pa.field("keywords", pa.list_(pa.string())),
    # what the article holds besides figures, counted and left out: table images, formula images, supplements
    pa.field("article_table_images", pa.int32()),
    pa.field("article_formula_images", pa.int32()),
    pa.field("article_supplements", pa.int32()),
    # the article's PDF, where the source has one: the figure fallback reads it when a media file is missing
    pa.field("pdf_key", pa.string()),
    pa.field("pdf_md5", pa.string()),
]

MEDIA_ENTRY = pa.struct([("name", pa.string()), ("key", pa.string()), ("md5", pa.string())])

FETCHED = [
    pa.field("xml_key", pa.string()),
    pa.field("xml_bytes", pa.binary()),
    pa.field("media", pa.list_(MEDIA_ENTRY)),
]

FIGURE_FIELDS = [
    pa.field("fig_id", pa.string()),
    # where the figure sits: main, back, floats, boxed-text, appendix, graphical-abstract, sub-article:<article-type>
    pa.field("figure_context", pa.string()),
    pa.field("label", pa.string()),
    pa.field("caption_title", pa.string()),
    pa.field("caption", pa.string()),
    pa.field("mentions", pa.list_(pa.string())),
    pa.field("mention_panels", pa.list_(pa.string())),  # panel letters the mentions name (Figure 2B, Figs. 2C-E), lower case
    pa.field("figure_license", pa.string()),  # the figure's own <permissions>, when it overrides the article's license
    pa.field("graphic_href", pa.string()),
    pa.field("graphic_hrefs", pa.list_(pa.string())),  # every <graphic> of the figure (several, or <alternatives>)
    pa.field("media_key", pa.string()),
    pa.field("media_md5", pa.string()),
    pa.field("media_source", pa.string()),  # "file" (the article's media file) or "pdf" (cropped from its PDF)
]

MEDIA_BYTES = [pa.field("media_bytes", pa.binary())]

IMAGE_FIELDS = [
    pa.field("image_width", pa.int32()),
    pa.field("image_height", pa.int32()),
    pa.field("source_width", pa.int32()),
    pa.field("source_height", pa.int32()),
    pa.field("source_format", pa.string()),
    pa.field("source_frames", pa.int32()),
    pa.field("image_sha256", pa.string()),
]
IMAGE_BYTES = [pa.field("image", pa.binary())]
# The normalised RGB pixels of ``image`` before its JPEG encoding, carried only between the CPU
# stages of one task (stages/images/pixels.py); no record leaves them with it.
PIXELS = [pa.field("pixels", pa.binary())]

CLIP_FIELDS = [
    pa.field("clip_score", pa.float32()),
    pa.field("clip_model", pa.string()),
    # zero-shot figure type from the image alone (stages/clip/zero_shot.py), when clip_score is asked for it
    pa.field("clip_figure_type", pa.string()),
    pa.field("clip_figure_type_confidence", pa.float32()),
]
CLIP_EMBEDDINGS = [pa.field("image_embedding", pa.list_(pa.float32())), pa.field("text_embedding", pa.list_(pa.float32()))]
CLIP_PIXELS = [pa.field("clip_pixels", pa.binary()), pa.field("clip_pixels_dtype", pa.string())]

# Compound figures: every box the splitter found (source pixels, reading order) on the figure, then
# per panel sample its own box, label, subcaption, and how it was aligned ("single", "label_order",
# "position", or "none" when the figure was kept whole because caption and image disagree).
PANEL_FIELDS = [
    pa.field("parent_key", pa.string()),  # the figure's sample key, on its panels and on the figure itself
    pa.field("panel_boxes", pa.list_(pa.list_(pa.int32()))),
    pa.field("split_confidence", pa.float32()),
    pa.field("split_method", pa.string()),
    pa.field("panel_box", pa.list_(pa.int32())),
    pa.field("panel_label", pa.string()),
    pa.field("subcaption", pa.string()),
    # how sure the caption's split is (stages/subcaptions/confidence.py), on every row of a figure with labels
    pa.field("subcaption_confidence", pa.float32()),
    pa.field("alignment", pa.string()),
    pa.field("alignment_detail", pa.string()),
]

# Quality filters: what they measured, kept for analysts whether or not the sample passed.
QUALITY_FIELDS = [
    pa.field("caption_language", pa.string()),  # ISO 639-1 code from the offline detector
    pa.field("caption_language_score", pa.float32()),  # its probability
    pa.field("dominant_color_fraction", pa.float32()),  # share of pixels in the most common (quantised) colour
]

# Figure-type labels (taxonomy in stages/figure_type/taxonomy.py), with where the label came from
# ("caption", "mentions", "clip", "none") and a confidence in [0, 1]; abbreviations found in the caption.
ABBREVIATION = pa.struct([("short", pa.string()), ("long", pa.string())])
FIGURE_TYPE_FIELDS = [
    pa.field("figure_type", pa.string()),
    pa.field("figure_type_source", pa.string()),
    pa.field("figure_type_confidence", pa.float32()),
    pa.field("abbreviations", pa.list_(ABBREVIATION)),
]

# Deduplication: sha256 of the normalised RGB pixels (exact), a 64-bit DCT perceptual hash and the
# hashes of a few crops of the image (near; see stages/dedup/hashing.py), and what the run-wide dedup
# decided for a sample it considered ("kept", "duplicate_exact", "duplicate_near").
HASH_FIELDS = [
    pa.field("pixel_sha256", pa.string()),
    pa.field("phash", pa.uint64()),
    pa.field("phash_probes", pa.list_(pa.uint64())),
    pa.field("dedup_status", pa.string()),
    pa.field("eval_set", pa.string()),  # the evaluation set a sample overlapped (decontamination)
]

# LLM recaptioning and instruction data (stages/llm): the recaption, the conversation in LLaVA's
# form and short VQA pairs (JSON text), the prompt version of every task that ran ("recaption.v1"),
# the model, whether that model is an untrained plumbing model, and the judge's 1-5 scores.
LLM_FIELDS = [
    pa.field("llm_recaption", pa.string()),
    pa.field("llm_conversation", pa.string()),
    pa.field("llm_vqa", pa.string()),
    pa.field("llm_prompt_versions", pa.list_(pa.string())),
    pa.field("llm_model", pa.string()),
    pa.field("llm_untrained", pa.bool_()),
    pa.field("llm_judge_informativeness", pa.int8()),
    pa.field("llm_judge_consistency", pa.int8()),
    pa.field("llm_output_tokens", pa.int32()),
]

SHARD_FIELDS = [pa.field("shard", pa.string()), pa.field("split", pa.string())]


def _schema(*groups: list[pa.Field]) -> pa.Schema:
    return pa.schema([field for group in groups for field in group], metadata={"figcurate_schema_version": str(SCHEMA_VERSION)})


ARTICLE = _schema(IDENTITY, STATUS, SOURCE)
FETCHED_ARTICLE = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FETCHED)
FIGURE = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS)
FIGURE_MEDIA = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, MEDIA_BYTES)
SAMPLE = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, IMAGE_BYTES, PIXELS)
PANEL = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, IMAGE_BYTES, PIXELS)
CURATION_FIELDS = [*QUALITY_FIELDS, *FIGURE_TYPE_FIELDS, *HASH_FIELDS]
CURATED = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, CURATION_FIELDS, IMAGE_BYTES)
CURATING = _schema(IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, CURATION_FIELDS, IMAGE_BYTES, PIXELS)
CLIP_INPUT = _schema(
    IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, CURATION_FIELDS, IMAGE_BYTES, CLIP_PIXELS
)
SCORED = _schema(
    IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, CURATION_FIELDS, IMAGE_BYTES, CLIP_FIELDS,
    CLIP_EMBEDDINGS,
)
GENERATED = _schema(
    IDENTITY, STATUS, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, CURATION_FIELDS, IMAGE_BYTES, CLIP_FIELDS,
    CLIP_EMBEDDINGS, LLM_FIELDS,
)
# Embeddings for semantic search and dedup, one Parquet part per unit beside the index.
EMBEDDINGS = pa.schema([pa.field("sample_key", pa.string(), nullable=False), *CLIP_EMBEDDINGS])
# One row per sample in the Parquet index: everything but the bytes, plus the shard it lives in.
INDEX = _schema(
    IDENTITY, SOURCE, ARTICLE_META, FIGURE_FIELDS, IMAGE_FIELDS, PANEL_FIELDS, CURATION_FIELDS, CLIP_FIELDS, LLM_FIELDS, SHARD_FIELDS
)
# What the run-wide dedup considered, one part per unit (hashes/<unit>.parquet): a resumed run
# feeds the finished units' rows back in, so it decides exactly as an uninterrupted run would.
DEDUP_CANDIDATE = pa.schema(
    [
        pa.field("sample_key", pa.string(), nullable=False),
        pa.field("pmcid", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("figure_index", pa.int32()),
        pa.field("panel_index", pa.int32()),
        pa.field("caption_chars", pa.int32()),
        pa.field("pixel_sha256", pa.string()),
        pa.field("phash", pa.uint64()),
        pa.field("phash_probes", pa.list_(pa.uint64())),
    ],
    metadata={"figcurate_schema_version": str(SCHEMA_VERSION)},
)

REJECT = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("pmcid", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("figure_index", pa.int32()),
        pa.field("panel_index", pa.int32()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("source_prefix", pa.string()),
    ],
    metadata={"figcurate_schema_version": str(SCHEMA_VERSION)},
)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Project ``table`` onto ``schema``: keep its columns, add missing ones as nulls, cast types."""
    names = set(table.column_names)
    columns = []
    for field in schema:
        if field.name in names:
            column = table.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)
