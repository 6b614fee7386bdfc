"""Sensitive personal fields: encrypted at rest, rotatable, hashed for search, validated, masked."""

from datetime import date

import pytest
from cryptography.fernet import Fernet

from services.common.sensitive import (
    DecryptionFailed,
    SensitiveData,
    id_check_character,
    keyed_hash,
    mask_id_number,
    mask_phone,
    new_key,
    normalize_phone,
    validate_id_number,
)

HASH_KEY = new_key()

# GB 11643-1999, ISO 7064 MOD 11-2, written out independently of the module under test.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def check_character(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


@pytest.fixture
def data() -> SensitiveData:
    return SensitiveData([new_key()], HASH_KEY)


# --- encryption ------------------------------------------------------------------------------


def test_new_key_is_a_fernet_key():
    key = new_key()
    assert isinstance(key, str)
    Fernet(key)  # raises if not 32 urlsafe-base64 bytes
    assert new_key() != key


def test_a_value_comes_back_after_encryption(data):
    for clear in ("13812345678", "11010519491231002X", "", "张三"):
        assert data.decrypt(data.encrypt(clear)) == clear


def test_the_ciphertext_hides_the_value_and_differs_each_time(data):
    first, second = data.encrypt("13812345678"), data.encrypt("13812345678")

    assert isinstance(first, bytes)
    assert b"13812345678" not in first
    assert first != second
    assert data.decrypt(first) == data.decrypt(second) == "13812345678"


def test_a_new_key_in_front_still_reads_old_values_and_rotate_moves_them_to_it():
    old_key, new = new_key(), new_key()
    before = SensitiveData([old_key], HASH_KEY)
    stored = before.encrypt("13812345678")

    after = SensitiveData([new, old_key], HASH_KEY)
    assert after.decrypt(stored) == "13812345678"

    rotated = after.rotate(stored)
    assert rotated != stored
    only_new = SensitiveData([new], HASH_KEY)
    assert only_new.decrypt(rotated) == "13812345678"
    with pytest.raises(DecryptionFailed):
        only_new.decrypt(stored)
    # What is encrypted now is under the newest key too.
    assert only_new.decrypt(after.encrypt("13900000000")) == "13900000000"


def test_rotating_what_is_already_under_the_newest_key_returns_it_unchanged():
    old_key, new = new_key(), new_key()
    after = SensitiveData([new, old_key], HASH_KEY)
    rotated = after.rotate(SensitiveData([old_key], HASH_KEY).encrypt("13812345678"))

    assert after.rotate(rotated) == rotated
    assert after.rotate(memoryview(rotated)) == rotated  # as the database hands it back


def test_a_ciphertext_under_an_unknown_key_raises(data):
    foreign = SensitiveData([new_key()], HASH_KEY).encrypt("13812345678")

    with pytest.raises(DecryptionFailed):
        data.decrypt(foreign)
    with pytest.raises(DecryptionFailed):
        data.rotate(foreign)


@pytest.mark.parametrize("stored", [b"", b"not a token", b"gAAAAA" + b"x" * 80, "a str"])
def test_corrupted_ciphertext_raises(data, stored):
    with pytest.raises(DecryptionFailed):
        data.decrypt(stored)


def test_a_flipped_byte_raises(data):
    stored = bytearray(data.encrypt("13812345678"))
    stored[40] ^= 1

    with pytest.raises(DecryptionFailed):
        data.decrypt(bytes(stored))


def test_decrypt_accepts_memoryview_as_the_database_may_return(data):
    assert data.decrypt(memoryview(data.encrypt("13812345678"))) == "13812345678"


@pytest.mark.parametrize(
    "keys, hash_key",
    [
        ([], HASH_KEY),
        ("a single string", HASH_KEY),
        (["not a fernet key"], HASH_KEY),
        ([new_key()], ""),
        ([new_key()], "short"),
    ],
)
def test_bad_keys_are_refused_at_construction(keys, hash_key):
    with pytest.raises(ValueError):
        SensitiveData(keys, hash_key)


def test_the_hash_key_must_differ_from_the_encryption_keys():
    key = new_key()
    with pytest.raises(ValueError, match="differ"):
        SensitiveData([key], key)


def test_a_bad_key_is_not_repeated_in_the_error():
    with pytest.raises(ValueError) as raised:
        SensitiveData(["secret-but-not-fernet"], HASH_KEY)
    assert "secret-but-not-fernet" not in str(raised.value)


# --- keyed hash ------------------------------------------------------------------------------


def test_the_hash_is_stable_hex_and_keyed(data):
    digest = data.hash("13812345678")

    assert digest == data.hash("13812345678")
    assert digest == SensitiveData([new_key()], HASH_KEY).hash("13812345678")  # not the enc keys
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert "13812345678" not in digest
    assert data.hash("13812345679") != digest
    assert SensitiveData([new_key()], new_key()).hash("13812345678") != digest


def test_keyed_hash_with_a_given_key_allows_rehashing(data):
    assert keyed_hash("13812345678", HASH_KEY) == data.hash("13812345678")

    other = new_key()
    rehashed = keyed_hash(data.decrypt(data.encrypt("13812345678")), other)
    assert rehashed == SensitiveData([new_key()], other).hash("13812345678")
    assert rehashed != data.hash("13812345678")


def test_one_phone_typed_two_ways_hashes_the_same_after_normalisation(data):
    typed = ["+86 138-1234-5678", "13812345678", "0086 13812345678", "8613812345678"]
    assert len({data.hash(normalize_phone(p)) for p in typed}) == 1


# --- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        " 13812345678 ",
        "+8613812345678",
        "+86 138-1234-5678",
        "86 13812345678",
        "008613812345678",
    ],
)
def test_phone_numbers_are_normalised_to_11_digits(typed):
    assert normalize_phone(typed) == "13812345678"


@pytest.mark.parametrize("second", "3456789")
def test_every_mobile_prefix_from_13_to_19_is_accepted(second):
    assert normalize_phone(f"1{second}012345678") == f"1{second}012345678"


@pytest.mark.parametrize(
    "typed",
    [
        "010-12345678",  # a Beijing landline
        "0817-1234567",  # a county landline
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "1381234567a",
        "abcdefghijk",
        "10812345678",  # second digit 0
        "11812345678",  # second digit 1
        "12812345678",  # second digit 2
        "23812345678",
        "",
        "+86",
        "+1 13812345678",
        "１３８１２３４５６７８",  # full-width digits
        "138.1234.5678",
    ],
)
def test_anything_but_a_mainland_mobile_number_is_rejected(typed):
    with pytest.raises(ValueError, match="手机号"):
        normalize_phone(typed)


def test_the_phone_error_does_not_repeat_the_value():
    with pytest.raises(ValueError) as raised:
        normalize_phone("12812345678")
    assert "12812345678" not in str(raised.value)


def test_a_phone_that_is_not_text_is_rejected():
    with pytest.raises(ValueError):
        normalize_phone(13812345678)  # type: ignore[arg-type]


# --- ID numbers ------------------------------------------------------------------------------


def test_the_check_character_follows_the_standard():
    # 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3 + 1*7 + 2*9 + 3*10 + 1*5
    #   + 0*8 + 0*4 + 2*2 = 167; 167 % 11 = 2; '10X98765432'[2] = 'X'
    assert check_character("11010519491231002") == "X"
    assert id_check_character("11010519491231002") == "X"
    for first17, expected in [
        ("51152919850615123", "4"),  # sum 316, 316 % 11 = 8
        ("44030420000229004", "9"),  # sum 190, 190 % 11 = 3
        ("32010619991231001", "X"),  # sum 222, 222 % 11 = 2
    ]:
        assert check_character(first17) == expected
        assert id_check_character(first17) == expected


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "511529198506151234", "440304200002290049", "32010619991231001X"],
)
def test_real_format_id_numbers_are_accepted(number):
    assert validate_id_number(number) == number


def test_a_lowercase_x_is_uppercased_and_spaces_around_are_dropped():
    assert validate_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_a_wrong_check_character_is_rejected():
    with pytest.raises(ValueError, match="校验位"):
        validate_id_number("110105194912310021")
    with pytest.raises(ValueError, match="校验位"):
        validate_id_number("511529198506151235")


@pytest.mark.parametrize("birth", ["19990230", "20230229", "19991301", "19990100", "00000101"])
def test_a_birth_date_that_does_not_exist_is_rejected(birth):
    first17 = f"511529{birth}123"
    with pytest.raises(ValueError, match="出生日期"):
        validate_id_number(first17 + check_character(first17))


def test_a_birth_date_in_the_future_is_rejected():
    first17 = "51152920300101123"
    with pytest.raises(ValueError, match="晚于今天"):
        validate_id_number(first17 + check_character(first17))


def test_today_decides_what_is_in_the_future():
    first17 = "51152920240615123"
    number = first17 + check_character(first17)

    assert validate_id_number(number, today=date(2024, 6, 15)) == number
    with pytest.raises(ValueError, match="晚于今天"):
        validate_id_number(number, today=date(2024, 6, 14))


@pytest.mark.parametrize(
    "number",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19 characters
        "110105491231002",  # the old 15-digit form
        "1101051949123100X2",  # X not last
        "11010519491231002Y",
        "11010519491231 02X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width
    ],
)
def test_a_malformed_id_number_is_rejected(number):
    with pytest.raises(ValueError, match="身份证号"):
        validate_id_number(number)


def test_the_id_error_does_not_repeat_the_value():
    with pytest.raises(ValueError) as raised:
        validate_id_number("110105194912310021")
    assert "110105194912310021" not in str(raised.value)


# --- masking ---------------------------------------------------------------------------------


def test_a_phone_is_masked_keeping_the_first_3_and_last_4():
    assert mask_phone("13812345678") == "138****5678"


def test_an_id_number_is_masked_keeping_the_first_6_and_last_4():
    assert mask_id_number("11010519491231002X") == "110105********002X"


@pytest.mark.parametrize("value", ["", "1", "1381234", "0123456789"])
def test_a_value_too_short_to_mask_is_all_stars(value):
    assert set(mask_id_number(value)) <= {"*"} and len(mask_id_number(value)) == len(value)
    if len(value) <= 7:
        assert mask_phone(value) == "*" * len(value)
