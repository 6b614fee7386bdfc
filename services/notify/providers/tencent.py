"""Tencent Cloud SMS (腾讯云短信, sms.tencentcloudapi.com, SendSms 2021-01-11), signed with
TC3-HMAC-SHA256 (签名方法 v3); and the parsers of its status (回执) and reply (上行) callbacks.

Tencent's template parameters are positional (TemplateParamSet is a list): `Outgoing.params`
is sent in the dict's insertion order, so the template's variables must be given in order.
"""

import json
import time
from datetime import UTC, datetime
from itertools import groupby

from pydantic import BaseModel, SecretStr

from services.notify.providers._http import (
    Clock,
    HttpAdapter,
    canonical_request,
    classify,
    hmac_sha256,
    optional_text,
    request_json,
    sha256_hex,
)
from services.notify.providers.base import Outcome, Outgoing, Receipt, Reply

ACTION = "SendSms"
API_VERSION = "2021-01-11"
SERVICE = "sms"  # the credential scope's service, whatever host the endpoint names
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
# What Tencent expects a status or reply callback to be answered with.
CALLBACK_ANSWER = {"result": 0, "errmsg": "OK"}

TEMPORARY = ("LimitExceeded.*", "InternalError*", "RequestLimitExceeded*", "ResourceUnavailable*")
# AuthFailure.* (wrong key, clock off by minutes) is permanent: it will not mend itself
# between retries, and the dispatcher should fall back to another channel at once.
PERMANENT = (
    "InvalidParameterValue.*",
    "InvalidParameter*",
    "MissingParameter*",
    "FailedOperation.*",
    "UnsupportedOperation.*",
    "UnauthorizedOperation.*",
    "AuthFailure*",
)


class TencentConfig(BaseModel):
    secret_id: str
    secret_key: SecretStr
    sdk_app_id: str  # SmsSdkAppId, the SMS application (1400...)
    region: str = "ap-guangzhou"
    endpoint: str = "https://sms.tencentcloudapi.com"
    timeout_seconds: float = 10.0
    rate_per_second: float = 50.0


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes,
    content_type: str = CONTENT_TYPE,
) -> str:
    """The `Authorization` header of a TC3-signed POST (签名方法 v3)."""
    canonical, signed = tc3_canonical_request(host=host, content_type=content_type, payload=payload)
    return tc3_sign(
        secret_id=secret_id,
        secret_key=secret_key,
        service=service,
        timestamp=timestamp,
        canonical=canonical,
        signed_headers=signed,
    )


def tc3_canonical_request(*, host: str, content_type: str, payload: bytes) -> tuple[str, str]:
    headers = {"content-type": content_type, "host": host}
    return canonical_request("POST", "/", "", headers, sha256_hex(payload), lower_values=True)


def tc3_sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    canonical: str,
    signed_headers: str,
) -> str:
    # The scope's date is the UTC date of the timestamp, never the local one.
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{sha256_hex(canonical.encode())}"
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac_sha256(key, part)
    signature = hmac_sha256(key, string_to_sign).hex()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


class TencentSmsProvider(HttpAdapter):
    name = "tencent"
    channel = "sms"
    # SendSms takes up to 200 numbers, but with one TemplateParamSet: messages whose
    # parameters differ go in calls of their own (made one after the other).
    max_batch = 200
    one_params_per_call = True  # the dispatcher batches only messages of the same values

    def __init__(self, config: TencentConfig, *, clock: Clock = time.time) -> None:
        super().__init__(config.endpoint, config.timeout_seconds)
        self.config = config
        self.rate_per_second = config.rate_per_second
        self._clock = clock

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}

        def same_call(i: int) -> tuple[str, str, list[str]]:
            out = batch[i]
            return (out.sign_name or "", out.template_code or "", list(out.params.values()))

        for _, group in groupby(sorted(range(len(batch)), key=same_call), key=same_call):
            indexes = list(group)
            results = await self._call([batch[i] for i in indexes])
            outcomes.update(zip(indexes, results, strict=True))
        return [outcomes[i] for i in range(len(batch))]

    async def _call(self, messages: list[Outgoing]) -> list[Outcome]:
        first = messages[0]
        request: dict[str, object] = {
            "PhoneNumberSet": [_e164(out.address) for out in messages],
            "SmsSdkAppId": self.config.sdk_app_id,
            "SignName": first.sign_name or "",
            "TemplateId": first.template_code or "",
            "TemplateParamSet": list(first.params.values()),
        }
        if len(messages) == 1:
            # Echoed back in the answer; correlation otherwise is by SerialNo.
            request["SessionContext"] = str(first.message_id)
        payload = json.dumps(request, ensure_ascii=False).encode()
        timestamp = int(self._clock())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.config.secret_id,
                secret_key=self.config.secret_key.get_secret_value(),
                service=SERVICE,
                host=self._host,
                timestamp=timestamp,
                payload=payload,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": ACTION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
            "X-TC-Region": self.config.region,
        }
        answer = await request_json(
            self._client, "POST", f"{self._endpoint}/", content=payload, headers=headers
        )
        if isinstance(answer, Outcome):
            return [answer] * len(messages)
        response = answer[1].get("Response", {})
        if "Error" in response:  # the whole request was refused
            return [_outcome(response["Error"])] * len(messages)
        statuses = {item.get("PhoneNumber"): item for item in response.get("SendStatusSet", [])}
        return [_outcome(statuses.get(_e164(out.address), {})) for out in messages]


def _outcome(item: dict) -> Outcome:
    code = str(item.get("Code", "")) or "missing_status"
    if code == "Ok":
        return Outcome("sent", provider_message_id=item.get("SerialNo"))
    status = classify(code, permanent=PERMANENT, temporary=TEMPORARY)
    return Outcome(status, code=code, detail=item.get("Message"))


def _e164(address: str) -> str:
    return address if address.startswith("+") else f"+86{address}"


def _address(nationcode: str, mobile: str) -> str:
    """Our address form: 11 digits for a mainland number, E.164 otherwise."""
    return mobile if nationcode in ("86", "") else f"+{nationcode}{mobile}"


def parse_receipts(body: bytes) -> list[Receipt]:
    """Status callback (短信下发状态回调): a JSON array, one entry per number."""
    return [
        Receipt(
            provider_message_id=str(item["sid"]),
            address=_address(str(item.get("nationcode", "86")), str(item["mobile"])),
            delivered=item["report_status"] == "SUCCESS",
            code=optional_text(item.get("errmsg")),
            detail=optional_text(item.get("description")),
        )
        for item in _items(body)
    ]


def parse_replies(body: bytes) -> list[Reply]:
    """Reply callback (短信回复回调): one object per reply (a list is taken too)."""
    return [
        Reply(
            address=_address(str(item.get("nationcode", "86")), str(item["mobile"])),
            text=str(item["text"]),
        )
        for item in _items(body)
    ]


def _items(body: bytes) -> list[dict]:
    data = json.loads(body)
    return data if isinstance(data, list) else [data]
