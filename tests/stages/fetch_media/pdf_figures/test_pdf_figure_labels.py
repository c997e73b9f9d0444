import signal

import pytest

from stages.fetch_media.pdf_figures.labels import label_pattern, match_caption
from stages.fetch_media.pdf_figures.protocol import ProtocolError, pack, unpack
from stages.fetch_media.pdf_figures.sandbox import _death_reason


@pytest.mark.parametrize(
    ("label", "line", "punctuated"),
    [
        ("Figure 1", "Figure 1. Cells under light", True),
        ("Figure 1", "Fig. 1 | Cells under light", True),
        ("Fig. 1", "FIGURE 1: Cells", True),
        ("Figure 1", "Figure\u00a01 Cells under light", False),
        ("Figure 2", "Figure 2", True),  # the label alone on its line
        ("Figure.", "Figure. Transcriptional regulation", True),
        ("Figure S1", "Figure S1. Supplementary", True),
        ("Figure 1\u2014figure supplement 1", "Figure 1\u2014figure supplement 1. More", True),
        ("Scheme 2", "Scheme 2. Synthesis", True),
    ],
)
def test_caption_lines_that_start_with_the_label(label, line, punctuated):
    assert match_caption(label_pattern(label), line).punctuated is punctuated


@pytest.mark.parametrize(
    ("label", "line"),
    [
        ("Figure 1", "Figure 10. Another figure"),
        ("Figure 1", "Figure 1A shows"),
        ("Figure 1", "Table 1. Numbers"),
        ("Figure 1", "As Figure 1 shows"),
        ("Figure.", "Figure shows the network"),  # body text, not an unnumbered caption
        ("Figure.", "Figure 3. A numbered figure"),
        ("Scheme 2", "Figure 2. Not a scheme"),
    ],
)
def test_lines_that_do_not_start_with_the_label(label, line):
    assert match_caption(label_pattern(label), line) is None


def test_labels_without_words_or_numbers_have_no_pattern():
    assert label_pattern("") is None
    assert label_pattern(" .: ") is None


def test_worker_answer_round_trips_and_garbage_is_refused():
    header, blobs = unpack(pack({"figures": [1]}, [b"png1", b"", b"png3"]))
    assert header["figures"] == [1] and blobs == [b"png1", b"", b"png3"]
    message = pack({"figures": []}, [b"abc"])
    for garbled in (b"", message[:-1], message + b"x", b"\xff" * 8 + b"{}", b"\x00" * 7 + b"\x02{}"):
        with pytest.raises(ProtocolError):
            unpack(garbled)


def test_a_worker_that_dies_is_reported_by_how_it_died():
    assert _death_reason(-signal.SIGKILL, b"").reason == "pdf_out_of_memory"  # the kernel's OOM killer
    assert _death_reason(-signal.SIGXCPU, b"").reason == "pdf_timeout"
    crashed = _death_reason(-signal.SIGSEGV, b"some warning")
    assert crashed.reason == "pdf_unreadable" and "SIGSEGV" in crashed.detail
    assert _death_reason(1, b"Traceback ...\nMemoryError").reason == "pdf_out_of_memory"
    assert _death_reason(1, b"Traceback ...\nKeyError: 'x'").reason == "pdf_unreadable"
