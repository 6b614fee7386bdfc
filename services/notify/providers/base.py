"""What every channel's adapter is: it takes outgoing messages and says what became of each.

An adapter speaks one provider's HTTP API (signed as the provider documents) and nothing else:
the dispatcher (services/notify/delivery) decides when to send, retries, falls back and records.
"""

from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID

# A person is reached by SMS, WeChat or WeCom; the console (the log) reaches nobody, and is
# where the check-in receipts go.
PersonChannel = Literal["sms", "wechat", "wecom"]
Channel = Literal["sms", "wechat", "wecom", "console"]
# sent: the provider accepted it (a receipt may follow); temporary: try again later (rate
# limited, the provider down or slow); permanent: it will never go (invalid number, template
# not approved, balance exhausted, the recipient unsubscribed at the provider).
OutcomeStatus = Literal["sent", "temporary", "permanent"]


@dataclass(frozen=True)
class Outgoing:
    """One message to one address. `address`: the phone (11 digits) for SMS, the openid for
    WeChat, the robot's webhook key for WeCom. `params`: the template's variables, for the
    providers that render it themselves (SMS, WeChat templates); `body` the text as we
    rendered it (console, WeCom, and the length check)."""

    message_id: UUID
    address: str
    body: str
    template_code: str | None = None  # the provider's template id (SMS_123456789, 1234567)
    sign_name: str | None = None  # 短信签名, without the 【】
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    status: OutcomeStatus
    provider_message_id: str | None = None  # BizId, SerialNo, msgid: what a receipt names
    code: str | None = None  # the provider's error code, as it sent it
    detail: str | None = None
    retry_after: float | None = None  # seconds, when the provider says


@dataclass(frozen=True)
class Receipt:
    """回执: the provider's word on a sent message (delivered to the phone, or not)."""

    provider_message_id: str
    address: str
    delivered: bool
    code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Reply:
    """上行短信: what a recipient texted back (退订 / TD unsubscribes)."""

    address: str
    text: str


class Provider(Protocol):
    name: str  # "aliyun", "tencent", "wecom", "wechat", "console"
    channel: Channel
    max_batch: int  # how many messages one call may carry (same template)
    rate_per_second: float  # the provider's limit this process keeps to
    # Optional: `one_params_per_call = True` when a call carries one set of template values
    # for all its numbers (Tencent's TemplateParamSet), so batches are formed by values too.

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Send the batch (at most `max_batch`, one template); one outcome per message, in order.
        Never raises for what the provider answered; a network failure is `temporary`."""
        ...

    async def close(self) -> None: ...
