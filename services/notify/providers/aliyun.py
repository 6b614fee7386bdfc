"""Alibaba Cloud SMS (阿里云短信, dysmsapi 2017-05-25): SendSms for one message, SendBatchSms for
up to 100 with one template, signed with the V3 signature (ACS3-HMAC-SHA256); and the parsers
of its HTTP pushes (SmsReport 回执, SmsUp 上行)."""

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, SecretStr

from services.notify.providers._http import (
    Clock,
    HttpAdapter,
    canonical_query,
    canonical_request,
    classify,
    hmac_sha256,
    optional_text,
    request_json,
    sha256_hex,
)
from services.notify.providers.base import Outcome, Outgoing, Receipt, Reply

API_VERSION = "2017-05-25"
ALGORITHM = "ACS3-HMAC-SHA256"
# What Aliyun expects a report or reply push to be answered with, or it pushes again.
CALLBACK_ANSWER = {"code": 0, "msg": "成功"}

TEMPORARY = (
    "isv.BUSINESS_LIMIT_CONTROL",  # 流控: per number per minute/hour/day
    "isv.DAY_LIMIT_CONTROL",
    "Throttling*",
    "ServiceUnavailable",
    "InternalError",
    "isp.*",  # Aliyun's own system errors
)
# A wrong key or a stale clock will not mend itself between retries: permanent, so the
# dispatcher falls back to another channel at once and the misconfiguration shows.
PERMANENT = (
    "isv.*",  # number, template, signature, balance, parameters: the message as sent never goes
    "Missing*",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "SignatureNonceUsed",
    "InvalidAccessKeyId*",
    "InvalidTimeStamp*",
    "Forbidden*",
    "InvalidVersion",
    "InvalidAction*",
)
# Codes that name one number of a batch: the batch is resent one by one, so one bad number
# does not sink the other 99.
ONE_NUMBER = ("isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT")


class AliyunConfig(BaseModel):
    access_key_id: str
    access_key_secret: SecretStr
    endpoint: str = "https://dysmsapi.aliyuncs.com"
    timeout_seconds: float = 10.0
    rate_per_second: float = 50.0  # well under the account's default SendSms QPS


def sign_acs3(
    *,
    method: str,
    host: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    action: str,
    version: str,
    access_key_id: str,
    access_key_secret: str,
    date: str,
    nonce: str,
) -> dict[str, str]:
    """The request headers of a V3-signed call, `Authorization` included (V3版本签名)."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date,
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": sha256_hex(body),
    }
    text, signed = canonical_request(
        method, path, canonical_query(query), headers, headers["x-acs-content-sha256"]
    )
    signature = acs3_signature(access_key_secret, text)
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},Signature={signature}"
    )
    return headers


def acs3_signature(access_key_secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{sha256_hex(canonical.encode())}"
    return hmac_sha256(access_key_secret.encode(), string_to_sign).hex()


class AliyunSmsProvider(HttpAdapter):
    name = "aliyun"
    channel = "sms"
    max_batch = 100  # SendBatchSms's limit

    def __init__(
        self,
        config: AliyunConfig,
        *,
        clock: Clock = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        super().__init__(config.endpoint, config.timeout_seconds)
        self.config = config
        self.rate_per_second = config.rate_per_second
        self._clock = clock
        self._nonce = nonce

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        if len({out.template_code for out in batch}) > 1:
            raise ValueError("a batch carries one template")
        if len(batch) == 1:
            return [await self._send_one(batch[0])]
        outcome = await self._call("SendBatchSms", _batch_params(batch))
        if outcome.status == "permanent" and outcome.code in ONE_NUMBER:
            return [await self._send_one(out) for out in batch]
        # One BizId for the whole batch; the receipts name it with each number.
        return [outcome] * len(batch)

    async def _send_one(self, out: Outgoing) -> Outcome:
        params = {
            "PhoneNumbers": out.address,
            "SignName": out.sign_name or "",
            "TemplateCode": out.template_code or "",
            "OutId": str(out.message_id),  # comes back as out_id in the receipt
        }
        if out.params:
            params["TemplateParam"] = json.dumps(out.params, ensure_ascii=False)
        return await self._call("SendSms", params)

    async def _call(self, action: str, params: dict[str, str]) -> Outcome:
        # RPC-style parameters travel in the query (the API's metadata says `in: query`),
        # so the body is empty and its hash is that of b"".
        query = {k: v for k, v in params.items() if v}
        headers = sign_acs3(
            method="POST",
            host=self._host,
            path="/",
            query=query,
            body=b"",
            action=action,
            version=API_VERSION,
            access_key_id=self.config.access_key_id,
            access_key_secret=self.config.access_key_secret.get_secret_value(),
            date=datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            nonce=self._nonce(),
        )
        answer = await request_json(
            self._client, "POST", f"{self._endpoint}/?{canonical_query(query)}", headers=headers
        )
        if isinstance(answer, Outcome):
            return answer
        _, body = answer
        code = str(body.get("Code", ""))
        if code == "OK":
            return Outcome("sent", provider_message_id=str(body.get("BizId")))
        status = classify(code, permanent=PERMANENT, temporary=TEMPORARY)
        return Outcome(status, code=code, detail=body.get("Message"))


def _batch_params(batch: list[Outgoing]) -> dict[str, str]:
    """SendBatchSms: the numbers, sign names and parameters as parallel JSON arrays."""

    def as_json(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    params = {
        "PhoneNumberJson": as_json([out.address for out in batch]),
        "SignNameJson": as_json([out.sign_name or "" for out in batch]),
        "TemplateCode": batch[0].template_code or "",
    }
    if any(out.params for out in batch):
        params["TemplateParamJson"] = as_json([out.params for out in batch])
    return params


def parse_receipts(body: bytes) -> list[Receipt]:
    """SmsReport push (短信回执): a JSON array, one entry per number."""
    return [
        Receipt(
            provider_message_id=str(item["biz_id"]),
            address=str(item["phone_number"]),
            delivered=bool(item["success"]),
            code=optional_text(item.get("err_code")),
            detail=optional_text(item.get("err_msg")),
        )
        for item in json.loads(body)
    ]


def parse_replies(body: bytes) -> list[Reply]:
    """SmsUp push (上行短信): what recipients texted back, a JSON array."""
    return [
        Reply(address=str(item["phone_number"]), text=str(item["content"]))
        for item in json.loads(body)
    ]
