"""The closed vocabulary of reasons a record can be dropped for.

Every drop a stage records names one of these; anything else is a bug (see ``check_reason``).
Later stages add their reasons here, never ad hoc strings in stage code.
"""

DROP_REASONS: dict[str, str] = {
    # fetch: bytes of metadata, XML and media
    "fetch_not_found": "an object the article needs does not exist in the source",
    "fetch_checksum_mismatch": "the bytes read do not match the md5 in the article's metadata",
    "fetch_too_large": "the object is larger than the configured size cap",
    "fetch_timeout": "every attempt to read the object timed out (retry budget spent)",
    "fetch_error": "reading the object failed for another reason: throttling or 5xx past the retry budget, access denied (detail says which)",
    "metadata_invalid": "the article's metadata JSON is unreadable or lacks required fields",
    # fetch from a local mirror of PMC's old tar.gz packages (pmc_packages source)
    "package_unsafe": "the package holds a member that is not a plain relative file: an absolute or '..' name, a link, a device or fifo (detail names it)",
    "package_too_large": "the package has more members or more uncompressed bytes than the configured caps (read stopped there)",
    "package_corrupt": "the package is not a readable gzip tar, or is truncated before the member needed (members before the cut are used)",
    # fetch: the run's article selection, decided from the metadata JSON
    "license_excluded": "the article's license is not in the run's license policy",
    "retracted_excluded": "the article is retracted and the run excludes retracted articles",
    "manuscript_excluded": "the article is an author manuscript and the run excludes manuscripts",
    "historical_ocr_excluded": "the article is historical OCR and the run excludes it",
    # parse_jats
    "xml_malformed": "the article XML is not well-formed",
    "no_figures": "the article has no figures",
    "caption_missing": "the figure has no caption text",
    "graphic_missing": "the figure has no graphic element",
    "figure_context_excluded": "the figure sits where the run takes no figures (a sub-article such as a translation or a review, a graphical abstract; detail: its context)",
    # images
    "image_decode_error": "the image bytes cannot be decoded (truncated, corrupt or unknown format)",
    "image_too_small": "the image is smaller than the configured minimum side",
    "image_too_large": "the image exceeds the decompression-bomb pixel limit",
    # filters (each threshold is a setting of stages.filters)
    "image_aspect_ratio": "the image (or panel) is more elongated than the configured maximum aspect ratio",
    "image_blank": "the image is nearly blank or a single colour (dominant colour share above the configured maximum)",
    "caption_too_short": "the caption (or subcaption) has fewer words or characters than the configured minimum",
    "caption_too_long": "the caption (or subcaption) has more words or characters than the configured maximum",
    "caption_language": "the caption's detected language is not one the run keeps",
    "article_type_excluded": "the article's type (correction, retraction, abstract, ...) is excluded by the run",
    # dedup and decontamination (detail names the winning sample or the evaluation set)
    "duplicate_exact": "the same normalised pixels as another sample that wins by the run's priority (detail: its key)",
    "duplicate_near": "a perceptual hash within the Hamming threshold of another sample that wins by priority (detail: its key)",
    "eval_overlap": "the image or caption matches an item of a configured evaluation set (detail: the set and the match)",
    # clip_score
    "clip_below_threshold": "the image-text cosine similarity is below the configured minimum",
    # llm (recaption, instruct, judge)
    "llm_output_invalid": "the model's answer did not parse or validate against the task's JSON schema after every allowed attempt (detail: the task and the raw text)",
    "llm_request_failed": "the engine or server gave no answer on the last allowed attempt: a timeout, HTTP errors past the retry budget, a prompt longer than the context (detail: the task and the error)",
    "llm_judge_below_threshold": "the judge task scored the generated text below the configured minimum (detail: the scores)",
    # subfigures / subcaptions
    "panel_too_small": "a panel cropped from a compound figure is smaller than the configured minimum side",
    # pdf_figures: figures taken from the article's PDF (missing media, historical OCR scans)
    "pdf_unreadable": "the PDF is not a PDF, or is corrupt or truncated past repair (or crashed the PDF worker)",
    "pdf_encrypted": "the PDF needs a password to open",
    "pdf_too_large": "the PDF has more bytes or more pages than the configured caps",
    "pdf_timeout": "reading the PDF took longer than the configured time limit (the PDF worker was killed)",
    "pdf_out_of_memory": "reading the PDF needed more memory than the configured bound of the PDF worker",
    "pdf_figure_not_found": "no caption with the figure's label, or no image region by that caption, was found in the PDF",
    # internal
    "worker_crash": "the record killed its worker process repeatedly (segfault, OOM, exit) and was quarantined",
    "stage_error": "an unexpected error in stage code for this record (a bug; detail has the traceback tail)",
}


def check_reason(reason: str) -> str:
    if reason not in DROP_REASONS:
        raise ValueError(f"unknown drop reason {reason!r}; add it to schemas/drop_reasons.py")
    return reason
