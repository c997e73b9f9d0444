import pytest

from schemas.keys import article_key, is_valid_key, normalise_pmcid, sample_key


@pytest.mark.parametrize("value", ["PMC123", "pmc123", "123", 123, " PMC0123 "])
def test_normalise_pmcid(value):
    assert normalise_pmcid(value) == "PMC123"


@pytest.mark.parametrize("value", ["PMCabc", "", "PMC", "12.3"])
def test_normalise_pmcid_rejects(value):
    with pytest.raises(ValueError):
        normalise_pmcid(value)


def test_sample_keys_have_no_dots_and_sort_in_document_order():
    keys = [sample_key("PMC10802347", 1, f, p) for f in (1, 2, 10) for p in (None, 0, 2)]
    assert keys[:3] == ["PMC10802347v1-f001", "PMC10802347v1-f001-p00", "PMC10802347v1-f001-p02"]
    assert all("." not in k and is_valid_key(k) for k in keys)
    assert sorted(keys) == keys
    assert article_key("123", 2) == "PMC123v2"
    assert not is_valid_key("PMC1.1-f001")


def test_split_by_article_is_stable_and_near_the_fractions():
    from schemas.keys import split_of

    fractions = {"train": 0.8, "validation": 0.1, "test": 0.1}
    splits = [split_of(f"PMC{n}", fractions) for n in range(20000)]
    assert split_of("PMC17", fractions) == split_of("pmc17", fractions) == split_of("17", fractions)
    for name, share in fractions.items():
        assert abs(splits.count(name) / len(splits) - share) < 0.01
    assert {split_of(f"PMC{n}", {"all": 1.0}) for n in range(100)} == {"all"}
