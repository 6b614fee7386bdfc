"""What the gateway publishes about users; the payload models are in
services/common/contracts/identity.py (the phone sealed, masked and hashed, never in clear)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity.models import UserAccount
from services.common.contracts.identity import UserFacts
from services.common.events import emit
from services.common.sensitive import SensitiveData, mask_phone

SOURCE = "/zhucun/gateway"


async def announce(
    session: AsyncSession,
    kind: type[UserFacts],
    user: UserAccount,
    vault: SensitiveData,
    **extra: Any,
) -> None:
    """Emit `kind` (created, updated ...) with the user as they are now."""
    sealed = user.phone_encrypted
    phone = None if sealed is None else vault.decrypt(sealed)
    data = kind(
        user_id=user.id,
        login=user.login,
        display_name=user.display_name,
        region_code=user.region_code,
        roles=list(user.roles),
        active=user.active,
        # The stored ciphertext is already under the shared data keys: sent as it is.
        phone_sealed=None if sealed is None else bytes(sealed).decode("ascii"),
        phone_masked=None if phone is None else mask_phone(phone),
        phone_hash=user.phone_hash,
        **extra,
    )
    await emit(session, data, source=SOURCE, subject=user.id, region_code=user.region_code)
