"""Outgoing messages with defaults, for the provider adapters' tests."""

import uuid
from typing import Any

from services.notify.providers.base import Outcome, Outgoing


def outgoing(address: str = "13800138000", **overrides: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "message_id": uuid.uuid4(),
        "address": address,
        "body": "【驻村】您的验证码为 1234",
        "template_code": "SMS_100",
        "sign_name": "驻村",
        "params": {"code": "1234"},
    }
    return Outgoing(**(fields | overrides))


async def send_and_close(provider: Any, batch: list[Outgoing]) -> list[Outcome]:
    """Send one batch through an adapter made for one test, and close it."""
    try:
        return await provider.send(batch)
    finally:
        await provider.close()


async def one_by_one(provider: Any, messages: list[Outgoing]) -> list[Outcome]:
    """Each message in a send of its own, in turn: the outcomes of retries over time."""
    return [(await provider.send([message]))[0] for message in messages]
