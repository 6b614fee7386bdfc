"""Events the gateway publishes about its users (身份), so other services learn who is who
(names, roles, regions, contact details) from the event log instead of calling the gateway.

Every event carries the user's whole current state, so a consumer keeps its own copy by
upserting on `user_id`, whichever event it reads last.

The phone never travels in clear: the outbox lives in the gateway's database, and a dump of
it must hold no number. It comes three ways:
- `phone_sealed`: the Fernet ciphertext, as text, under the shared data keys
  (`ZHUCUN_DATA_KEYS`, which every service reads): `SensitiveData.decrypt(phone_sealed.encode())`
  gives the number to a consumer that must call or text it (notify);
- `phone_masked`: `138****5678`, to show;
- `phone_hash`: the keyed hash (`ZHUCUN_HASH_KEY`), to match a number exactly without opening it.
All three are null for a user without a phone.

`phone_sealed` is the ciphertext of its day. `zhucun rotate-data-keys` re-encrypts the gateway's
rows, not the events already published, and the stream keeps events with no age limit: an old
event's `phone_sealed` opens only while its key is still in ZHUCUN_DATA_KEYS. So a consumer
opens it (or re-seals it, `SensitiveData.rotate`, into an encrypted column of its own that its
ENCRYPTED_COLUMNS declare) when it handles the event, never keeps the event's text to open
later, and needs an old key only until it has handled what was published before a rotation.
A replay from the stream's start after the old key is dropped cannot open the phones of those
events (DecryptionFailed); only an event published after the rotation carries the phone
under the newer key.
"""

from uuid import UUID

from services.common.events import EventData


class UserFacts(EventData):
    """The user as they are now: what every identity event carries."""

    user_id: UUID
    login: str
    display_name: str
    region_code: str
    roles: list[str]
    active: bool
    phone_sealed: str | None
    phone_masked: str | None
    phone_hash: str | None


class UserCreated(UserFacts):
    """用户已创建: a new user."""

    type = "identity.user.created"
    version = 1


class UserUpdated(UserFacts):
    """用户已修改: a user's name, phone, region or roles changed (`changed` names which)."""

    type = "identity.user.updated"
    version = 1

    changed: list[str]


class UserDeactivated(UserFacts):
    """用户已停用: a user can no longer sign in."""

    type = "identity.user.deactivated"
    version = 1


class UserReactivated(UserFacts):
    """用户已恢复: a deactivated user can sign in again."""

    type = "identity.user.reactivated"
    version = 1
