import pytest

from stages.subcaptions.labels import parse_label_expression


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("A-C", ["A", "B", "C"]),
        ("a–c", ["a", "b", "c"]),
        ("A to C", ["A", "B", "C"]),
        ("A through D", ["A", "B", "C", "D"]),
        ("c, d, and e", ["c", "d", "e"]),
        ("A+B", ["A", "B"]),
        ("ii-iv", ["ii", "iii", "iv"]),
        ("A1-A3", ["A1", "A2", "A3"]),
        ("H and E", None),  # a stain: panel lists run forwards
        ("G+C", None),
        ("3+4", None),  # a Gleason score
        ("C to A", None),
        ("A to Z", None),  # no figure has 26 panels in one range
        ("sites to see", None),
        ("1 to 5", None),  # a scale
        ("1-5", ["1", "2", "3", "4", "5"]),
    ],
)
def test_label_expressions(expression, expected):
    assert parse_label_expression(expression) == expected
