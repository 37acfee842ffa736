from clearance import reference


def test_the_nomenclature_has_every_hs_2022_subheading_and_nothing_else_at_six_digits():
    subheadings = [e for e in reference.hs_entries().values() if e.level == 6]
    assert len(subheadings) == 5612
    assert reference.hs_exists("851830")
    assert not reference.hs_exists("8518")  # a heading, not a subheading
    assert not reference.hs_exists("999999")  # "not specified" is not a code to declare


def test_words_find_the_subheading_even_with_words_the_nomenclature_lacks():
    assert reference.hs_search("bluetooth headphones")[0].code == "851830"
    assert reference.hs_search("cotton t-shirts")[0].code == "610910"
    assert [e.code for e in reference.hs_search("8518")][:3] == ["851810", "851821", "851822"]
    assert reference.hs_search("zzzz") == []


def test_currencies_know_their_minor_units():
    assert reference.currency_decimals("KRW") == 0
    assert reference.currency_decimals("USD") == 2
    assert reference.currency_decimals("KWD") == 3
    assert not reference.currency_exists("XYZ")


def test_countries_use_apec_names_where_apec_has_them():
    assert reference.countries()["TW"] == "Chinese Taipei"
    assert reference.country_exists("KR")
    assert not reference.country_exists("XX")
