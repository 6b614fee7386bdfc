"""Sensitive personal fields (敏感个人信息): phone numbers, citizen ID numbers.

Each such field is stored as two columns: `<field>_encrypted` (Fernet ciphertext, so the clear
value is readable again with a key from settings) and `<field>_hash` (a keyed HMAC-SHA256 of the
normalised value, for exact search without decrypting every row). Responses send the masked form
(脱敏) unless the caller's role needs the clear value.

Validate and normalise first (`normalize_phone`, `validate_id_number`), then encrypt and hash the
normalised value: the same phone typed two ways must hash the same. Error messages never repeat
the value they reject.
"""

import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

CHINA_TZ = ZoneInfo("Asia/Shanghai")
MIN_HASH_KEY_LENGTH = 32


class DecryptionFailed(Exception):
    """A stored ciphertext cannot be read: no configured key opens it, or it is corrupted."""

    def __init__(self) -> None:
        super().__init__(
            "敏感字段无法解密：密钥不匹配或密文已损坏 "
            "(cannot decrypt a sensitive field: unknown key or corrupted ciphertext)"
        )


def new_key() -> str:
    """A fresh random key (urlsafe base64, 32 bytes): an encryption key, or a hash key."""
    return Fernet.generate_key().decode("ascii")


def keyed_hash(value: str, key: str) -> str:
    """HMAC-SHA256 of `value` under `key`, as hex: the `*_hash` column.

    Takes the key explicitly so that a re-hash under a new key is possible (see `SensitiveData`).
    """
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


class SensitiveData:
    """Encrypts, decrypts and hashes the values of sensitive fields.

    `keys`: the encryption keys, newest first. New values are encrypted with the first; any of
    them decrypts. To rotate: put a new key in front, `rotate` every stored ciphertext (it comes
    back under the new key: services/common/rekey.py, `zhucun rotate-data-keys`), then drop the
    old key from settings.

    `hash_key`: the key of the search hash, separate from the encryption keys. It cannot rotate
    like them: every stored hash depends on it, and an exact search only finds rows hashed under
    the key it uses. To change it, re-hash every row: decrypt the value and store
    `keyed_hash(clear, new_hash_key)`, then switch settings to the new hash key.
    """

    def __init__(self, keys: Sequence[str], hash_key: str) -> None:
        if isinstance(keys, str | bytes) or not keys:
            raise ValueError("sensitive data: `keys` must be a non-empty list of Fernet keys")
        fernets = []
        for position, key in enumerate(keys):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise ValueError(
                    f"sensitive data: encryption key #{position} is not a Fernet key "
                    "(32 bytes, urlsafe base64); make one with new_key()"
                ) from None
        if not isinstance(hash_key, str) or len(hash_key) < MIN_HASH_KEY_LENGTH:
            raise ValueError(
                f"sensitive data: the hash key must be at least {MIN_HASH_KEY_LENGTH} characters"
            )
        if hash_key in keys:
            raise ValueError("sensitive data: the hash key must differ from the encryption keys")
        self._fernet = MultiFernet(fernets)
        self._newest = fernets[0]
        self._hash_key = hash_key

    def encrypt(self, value: str) -> bytes:
        """The ciphertext of `value` under the newest key (random IV: differs on each call)."""
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        """The clear value; `DecryptionFailed` if no key opens it or it is corrupted."""
        try:
            return self._fernet.decrypt(_as_bytes(token)).decode()
        except (InvalidToken, TypeError, ValueError):
            raise DecryptionFailed() from None

    def rotate(self, token: bytes) -> bytes:
        """The same value under the newest key: re-encrypted, or `token` itself if it is
        already (so rotating twice changes nothing); `DecryptionFailed` as `decrypt`."""
        try:
            token = _as_bytes(token)
            return token if _opens(self._newest, token) else self._fernet.rotate(token)
        except (InvalidToken, TypeError, ValueError):
            raise DecryptionFailed() from None

    def hash(self, value: str) -> str:
        """The keyed search hash of `value` (pass the normalised value)."""
        return keyed_hash(value, self._hash_key)


def _opens(fernet: Fernet, token: bytes) -> bool:
    try:
        fernet.decrypt(token)
    except InvalidToken:
        return False
    return True


def _as_bytes(token: bytes | bytearray | memoryview) -> bytes:
    if isinstance(token, bytearray | memoryview):
        return bytes(token)
    if not isinstance(token, bytes):
        raise TypeError("ciphertext must be bytes")
    return token


# --- phone numbers ---------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-]+")


def normalize_phone(value: str) -> str:
    """A mainland China mobile number as its 11 digits (`13812345678`).

    Accepts spaces and dashes and a leading +86, 0086 or 86; raises ValueError otherwise.
    """
    if not isinstance(value, str):
        raise ValueError("手机号必须是文本 (phone number must be a string)")
    digits = _PHONE_SEPARATORS.sub("", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise ValueError(
            "手机号格式不正确：应为 11 位中国大陆手机号，以 13–19 开头 "
            "(invalid phone number: expected an 11-digit mainland China mobile number "
            "starting with 13 to 19)"
        )
    return digits


def mask_phone(value: str) -> str:
    """脱敏: the first 3 and last 4 digits kept (`138****5678`)."""
    return _mask(value, keep_start=3, keep_end=4)


# --- resident identity numbers (居民身份证号码, GB 11643-1999) ----------------------------------

_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    """The check character (ISO 7064 MOD 11-2) of an ID number's first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need the first 17 digits of an ID number")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """An 18-character resident identity number, with an uppercase X; raises ValueError.

    Checks the form, the birth date (a real date, not after `today`, by default today in China)
    and the check character.
    """
    if not isinstance(value, str):
        raise ValueError("身份证号必须是文本 (ID number must be a string)")
    number = value.strip().upper()
    if not _ID_NUMBER.fullmatch(number):
        raise ValueError(
            "身份证号格式不正确：应为 18 位，前 17 位为数字，末位为数字或 X "
            "(invalid ID number: expected 17 digits and a digit or X)"
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(
            "身份证号中的出生日期不存在 (invalid ID number: the birth date does not exist)"
        ) from None
    if birth > (today or datetime.now(CHINA_TZ).date()):
        raise ValueError(
            "身份证号中的出生日期晚于今天 (invalid ID number: the birth date is in the future)"
        )
    if id_check_character(number[:17]) != number[17]:
        raise ValueError("身份证号校验位不正确 (invalid ID number: wrong check character)")
    return number


def mask_id_number(value: str) -> str:
    """脱敏: the first 6 and last 4 characters kept (`110105********002X`)."""
    return _mask(value, keep_start=6, keep_end=4)


def _mask(value: str, *, keep_start: int, keep_end: int) -> str:
    """Stars in the middle; a value too short to keep anything is all stars."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    middle = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * middle + value[-keep_end:]
