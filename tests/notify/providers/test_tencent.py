import hashlib
import json
import time

import httpx
import pytest

from services.common.testing import listening
from services.notify.providers.base import Receipt, Reply
from services.notify.providers.tencent import (
    CALLBACK_ANSWER,
    CONTENT_TYPE,
    TencentConfig,
    TencentSmsProvider,
    parse_receipts,
    parse_replies,
    tc3_authorization,
    tc3_canonical_request,
)
from tests.notify.providers.factories import one_by_one, outgoing, send_and_close
from tests.notify.providers.fakes import TencentFake

SECRET_ID, SECRET_KEY, APP_ID = "AKIDtestcounty", "test-key-of-the-county", "1400000001"


def test_signature_reproduces_tencents_documented_example():
    """Tencent Cloud's "Signature v3" page: CVM DescribeInstances in ap-guangzhou at
    1551113065, with its example SecretId and SecretKey, gives the published canonical
    request, its hash and the Authorization header, byte for byte."""
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    canonical, signed = tc3_canonical_request(
        host="cvm.tencentcloudapi.com", content_type=CONTENT_TYPE, payload=payload
    )
    assert canonical == (
        "POST\n/\n\n"
        "content-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n"
        "\n"
        "content-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert signed == "content-type;host"
    assert hashlib.sha256(canonical.encode()).hexdigest() == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=payload,
    ) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


@pytest.fixture
async def fake():
    fake = TencentFake(SECRET_ID, SECRET_KEY, APP_ID, templates={"1110": ["code", "minutes"]})
    async with listening(fake.app()) as url:
        fake.url = url
        yield fake


def adapter(url: str, secret_key: str = SECRET_KEY, **kwargs) -> TencentSmsProvider:
    config = TencentConfig(
        secret_id=SECRET_ID, secret_key=secret_key, sdk_app_id=APP_ID, endpoint=url
    )
    return TencentSmsProvider(config, **kwargs)


@pytest.fixture
async def provider(fake):
    provider = adapter(fake.url)
    yield provider
    await provider.close()


def sms(address: str = "13800138000", **overrides):
    fields = {"template_code": "1110", "params": {"code": "4321", "minutes": "5"}}
    return outgoing(address, **(fields | overrides))


async def test_one_message_is_sent_and_recorded(fake, provider):
    message = sms()

    [outcome] = await provider.send([message])

    [accepted] = fake.accepted
    assert accepted["phone"] == "+8613800138000"
    assert accepted["sign_name"] == "驻村"
    assert accepted["template_id"] == "1110"
    assert accepted["session_context"] == str(message.message_id)
    assert (outcome.status, outcome.provider_message_id) == ("sent", accepted["serial_no"])


async def test_params_are_sent_in_the_dicts_insertion_order(fake, provider):
    await provider.send([sms(params={"minutes": "5", "code": "4321"})])
    assert fake.accepted[0]["params"] == ["5", "4321"]


async def test_a_batch_shares_a_call_only_when_the_params_are_the_same(fake, provider):
    batch = [
        sms("13900000000"),
        sms("13900000001", params={"code": "9999", "minutes": "5"}),
        sms("13900000002"),
    ]

    outcomes = await provider.send(batch)

    assert fake.requests == 2  # two numbers with the same params, one with its own
    by_phone = {a["phone"]: a for a in fake.accepted}
    assert by_phone["+8613900000001"]["params"] == ["9999", "5"]
    assert [o.provider_message_id for o in outcomes] == [
        by_phone[f"+86{m.address}"]["serial_no"] for m in batch
    ]
    assert by_phone["+8613900000000"]["session_context"] is None  # one context per call


async def test_per_number_statuses_map_in_order(fake, provider):
    fake.refuse("13900000001", "invalid_number")
    fake.refuse("13900000002", "rate_limited")
    batch = [sms(f"1390000000{i}") for i in range(4)]

    outcomes = await provider.send(batch)

    assert fake.requests == 1
    assert [(o.status, o.code) for o in outcomes] == [
        ("sent", None),
        ("permanent", "InvalidParameterValue.IncorrectPhoneNumber"),
        ("temporary", "LimitExceeded.PhoneNumberThirtySecondLimit"),
        ("sent", None),
    ]


@pytest.mark.parametrize(
    ("reason", "key", "status", "code"),
    [
        (
            "template_not_approved",
            "1110",
            "permanent",
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
        (
            "signature_not_approved",
            "驻村",
            "permanent",
            "FailedOperation.SignatureIncorrectOrUnapproved",
        ),
        (
            "balance_exhausted",
            "1110",
            "permanent",
            "FailedOperation.InsufficientBalanceInSmsPackage",
        ),
    ],
)
async def test_a_refused_request_applies_to_every_message(
    fake, provider, reason, key, status, code
):
    fake.refuse(key, reason)

    outcomes = await provider.send([sms("13900000000"), sms("13900000001")])

    assert [(o.status, o.code) for o in outcomes] == [(status, code)] * 2
    assert fake.accepted == []


async def test_params_not_matching_the_template_are_permanent(fake, provider):
    [outcome] = await provider.send([sms(params={"code": "1"})])
    code = "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
    assert (outcome.status, outcome.code) == ("permanent", code)


@pytest.mark.parametrize(
    ("reason", "code"), [("throttled", "RequestLimitExceeded"), ("busy", "InternalError.Timeout")]
)
async def test_failures_then_success(fake, provider, reason, code):
    fake.fail_next(2, reason)

    outcomes = await one_by_one(provider, [sms() for _ in range(3)])

    assert [(o.status, o.code) for o in outcomes] == [("temporary", code)] * 2 + [("sent", None)]


async def test_a_tampered_secret_is_refused_and_permanent(fake):
    [outcome] = await send_and_close(adapter(fake.url, secret_key=SECRET_KEY + "x"), [sms()])
    assert (outcome.status, outcome.code) == ("permanent", "AuthFailure.SignatureFailure")
    assert fake.accepted == []


async def test_a_stale_timestamp_is_refused(fake):
    [outcome] = await send_and_close(adapter(fake.url, clock=lambda: time.time() - 600), [sms()])
    assert (outcome.status, outcome.code) == ("permanent", "AuthFailure.SignatureExpire")


async def test_the_fake_refuses_more_than_200_numbers(fake):
    payload = json.dumps(
        {
            "PhoneNumberSet": [f"+86139{i:08d}" for i in range(201)],
            "SmsSdkAppId": APP_ID,
            "SignName": "驻村",
            "TemplateId": "1110",
            "TemplateParamSet": ["1", "5"],
        }
    ).encode()
    host = httpx.URL(fake.url).netloc.decode()
    timestamp = int(time.time())
    headers = {
        "Authorization": tc3_authorization(
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            service="sms",
            host=host,
            timestamp=timestamp,
            payload=payload,
        ),
        "Content-Type": CONTENT_TYPE,
        "X-TC-Action": "SendSms",
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": "2021-01-11",
        "X-TC-Region": "ap-guangzhou",
    }
    async with httpx.AsyncClient() as client:
        answer = (await client.post(f"{fake.url}/", content=payload, headers=headers)).json()
    assert answer["Response"]["Error"]["Code"] == "LimitExceeded.PhoneNumberCountLimit"


def test_receipts_and_replies_parse():
    status = """[
      {"user_receive_time": "2026-05-01 09:00:05", "nationcode": "86",
       "mobile": "13800138000", "report_status": "SUCCESS", "errmsg": "DELIVRD",
       "description": "用户短信送达成功", "sid": "2019:00000000000000000001"},
      {"user_receive_time": "2026-05-01 09:00:09", "nationcode": "86",
       "mobile": "13900000000", "report_status": "FAIL", "errmsg": "MK:0001",
       "description": "空号", "sid": "2019:00000000000000000002"}
    ]""".encode()
    assert parse_receipts(status) == [
        Receipt("2019:00000000000000000001", "13800138000", True, "DELIVRD", "用户短信送达成功"),
        Receipt("2019:00000000000000000002", "13900000000", False, "MK:0001", "空号"),
    ]
    reply = """{"extend": "", "mobile": "13800138000", "nationcode": "86", "sign": "驻村",
                "text": "TD", "time": 1746061200}""".encode()
    assert parse_replies(reply) == [Reply("13800138000", "TD")]
    assert CALLBACK_ANSWER == {"result": 0, "errmsg": "OK"}
