import pytest

from stages.parse_jats.licenses import normalise_license


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("CC BY", "CC BY"),
        ("cc-by", "CC BY"),
        ("CC-BY-NC", "CC BY-NC"),
        ("CC BY-NC-ND 4.0", "CC BY-NC-ND"),
        ("cc by nc sa", "CC BY-NC-SA"),
        ("CC0", "CC0"),
        ("cc 0", "CC0"),
        ("TDM", "TDM"),
        ("", "unknown"),
        (None, "unknown"),
        ("All rights reserved", "other"),
    ],
)
def test_normalise_license(raw, expected):
    assert normalise_license(raw) == expected
