from inventory.barcodes import gtin_forms


def test_one_gtin_in_every_length_it_is_written():
    assert {"0012345678905", "012345678905", "00012345678905"} <= gtin_forms("012345678905")
    assert gtin_forms("0012345678905") == gtin_forms("012345678905")


def test_codes_that_are_not_gtins_match_only_themselves():
    assert gtin_forms(" SKU-1 ") == {"SKU-1"}
    assert gtin_forms("0888") == {"0888"}
    assert gtin_forms("") == set()
