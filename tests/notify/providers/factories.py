"""Outgoing messages with defaults, for the provider adapters' tests."""

import uuid
from typing import Any

from services.notify.providers.base import Outgoing


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
