import asyncio
import hashlib

import pytest
from fastapi import FastAPI

from services.common.devservers import free_port
from services.common.testing import listening
from services.notify.providers._http import canonical_query, canonical_request
from services.notify.providers.aliyun import (
    CALLBACK_ANSWER,
    AliyunConfig,
    AliyunSmsProvider,
    parse_receipts,
    parse_replies,
    sign_acs3,
)
from services.notify.providers.base import Receipt, Reply
from tests.notify.providers.factories import one_by_one, outgoing, send_and_close
from tests.notify.providers.fakes import AliyunFake

KEY_ID, SECRET = "LTAI5tTestKeyId", "test-secret-of-the-county"


def test_signature_reproduces_alibabas_documented_example():
    """The fixed values of Alibaba Cloud's "V3 request structure and signature" page (an ECS
    RunInstances call; the signing is the same for every product) give its published
    canonical request, hash and Authorization, byte for byte."""
    query = {
        "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        "RegionId": "cn-shanghai",
    }
    headers = sign_acs3(
        method="POST",
        host="ecs.cn-shanghai.aliyuncs.com",
        path="/",
        query=query,
        body=b"",
        action="RunInstances",
        version="2014-05-26",
        access_key_id="YourAccessKeyId",
        access_key_secret="YourAccessKeySecret",
        date="2023-10-26T10:22:32Z",
        nonce="3156853299f313e23d1673dc12e1703d",
    )
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    signed = {k: v for k, v in headers.items() if k != "Authorization"}
    text, _ = canonical_request("POST", "/", canonical_query(query), signed, empty)
    assert text == (
        "POST\n/\n"
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
        "host:ecs.cn-shanghai.aliyuncs.com\n"
        "x-acs-action:RunInstances\n"
        f"x-acs-content-sha256:{empty}\n"
        "x-acs-date:2023-10-26T10:22:32Z\n"
        "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
        "x-acs-version:2014-05-26\n"
        "\n"
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
        f"{empty}"
    )
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


@pytest.fixture
async def fake():
    fake = AliyunFake(KEY_ID, SECRET, templates={"SMS_100": ["code"], "SMS_200": []})
    async with listening(fake.app()) as url:
        fake.url = url
        yield fake


def adapter(url: str, secret: str = SECRET, **kwargs) -> AliyunSmsProvider:
    config = AliyunConfig(access_key_id=KEY_ID, access_key_secret=secret, endpoint=url)
    return AliyunSmsProvider(config, **kwargs)


@pytest.fixture
async def provider(fake):
    provider = adapter(fake.url)
    yield provider
    await provider.close()


async def test_one_message_is_sent_with_sendsms_and_recorded(fake, provider):
    message = outgoing(params={"code": "4321"})

    [outcome] = await provider.send([message])

    assert outcome.status == "sent"
    [accepted] = fake.accepted
    assert accepted["action"] == "SendSms"
    assert accepted["phone"] == "13800138000"
    assert accepted["sign_name"] == "驻村"
    assert accepted["params"] == {"code": "4321"}
    assert accepted["out_id"] == str(message.message_id)
    assert outcome.provider_message_id == accepted["biz_id"]


async def test_a_batch_goes_in_one_sendbatchsms_with_each_numbers_params(fake, provider):
    batch = [outgoing(f"1390000000{i}", params={"code": str(i)}) for i in range(3)]

    outcomes = await provider.send(batch)

    assert fake.requests == 1
    assert [a["action"] for a in fake.accepted] == ["SendBatchSms"] * 3
    assert [(a["phone"], a["params"]) for a in fake.accepted] == [
        (f"1390000000{i}", {"code": str(i)}) for i in range(3)
    ]
    biz_id = fake.accepted[0]["biz_id"]
    assert [(o.status, o.provider_message_id) for o in outcomes] == [("sent", biz_id)] * 3


async def test_a_batch_refused_for_one_number_is_resent_one_by_one(fake, provider):
    fake.refuse("13900000001", "invalid_number")
    batch = [outgoing(f"1390000000{i}") for i in range(3)]

    outcomes = await provider.send(batch)

    assert [o.status for o in outcomes] == ["sent", "permanent", "sent"]
    assert outcomes[1].code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert [a["phone"] for a in fake.accepted] == ["13900000000", "13900000002"]


async def test_a_tampered_secret_is_refused_and_permanent(fake):
    [outcome] = await send_and_close(adapter(fake.url, secret=SECRET + "x"), [outgoing()])

    # A wrong key does not mend itself between retries: the dispatcher falls back at once.
    assert (outcome.status, outcome.code) == ("permanent", "SignatureDoesNotMatch")
    assert fake.accepted == []


async def test_a_clock_off_by_twenty_minutes_is_refused(fake):
    [outcome] = await send_and_close(
        adapter(fake.url, clock=lambda: fake.clock() - 20 * 60), [outgoing()]
    )
    assert (outcome.status, outcome.code) == ("permanent", "InvalidTimeStamp.Expired")


async def test_a_replayed_nonce_is_refused(fake):
    provider = adapter(fake.url, nonce=lambda: "the-same-nonce")
    first, second = await one_by_one(provider, [outgoing(), outgoing()])
    await provider.close()
    assert first.status == "sent"
    assert (second.status, second.code) == ("permanent", "SignatureNonceUsed")


@pytest.mark.parametrize(
    ("reason", "key", "status", "code"),
    [
        ("rate_limited", "13800138000", "temporary", "isv.BUSINESS_LIMIT_CONTROL"),
        ("invalid_number", "13800138000", "permanent", "isv.MOBILE_NUMBER_ILLEGAL"),
        ("template_not_approved", "SMS_100", "permanent", "isv.SMS_TEMPLATE_ILLEGAL"),
        ("balance_exhausted", "13800138000", "permanent", "isv.AMOUNT_NOT_ENOUGH"),
        ("signature_not_approved", "驻村", "permanent", "isv.SMS_SIGNATURE_ILLEGAL"),
    ],
)
async def test_each_refusal_maps_to_its_outcome(fake, provider, reason, key, status, code):
    fake.refuse(key, reason)

    [outcome] = await provider.send([outgoing()])

    assert (outcome.status, outcome.code) == (status, code)
    assert outcome.detail  # Aliyun's message, kept for the operator
    assert fake.accepted == []


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (outgoing(sign_name=None), "MissingSignName"),
        (outgoing(params={}), "isv.TEMPLATE_MISSING_PARAMETERS"),
        (outgoing(template_code="SMS_999"), "isv.SMS_TEMPLATE_ILLEGAL"),
    ],
)
async def test_a_message_the_api_rejects_is_permanent(fake, provider, message, code):
    [outcome] = await provider.send([message])
    assert (outcome.status, outcome.code) == ("permanent", code)


@pytest.mark.parametrize(
    ("reason", "code"), [("throttled", "Throttling.User"), ("busy", "ServiceUnavailable")]
)
async def test_failures_then_success(fake, provider, reason, code):
    fake.fail_next(2, reason)

    outcomes = await one_by_one(provider, [outgoing() for _ in range(3)])

    assert [(o.status, o.code) for o in outcomes] == [("temporary", code)] * 2 + [("sent", None)]
    assert len(fake.accepted) == 1


async def test_no_server_is_temporary_not_an_exception():
    outcomes = await send_and_close(
        adapter(f"http://127.0.0.1:{free_port()}"), [outgoing(), outgoing("13900000000")]
    )
    assert [(o.status, o.code) for o in outcomes] == [("temporary", "network")] * 2


async def test_a_slow_provider_is_temporary():
    slow = FastAPI()

    @slow.post("/")
    async def hang() -> dict:
        await asyncio.sleep(2)
        return {}

    async with listening(slow) as url:
        config = AliyunConfig(
            access_key_id=KEY_ID, access_key_secret=SECRET, endpoint=url, timeout_seconds=0.2
        )
        [outcome] = await send_and_close(AliyunSmsProvider(config), [outgoing()])
    assert (outcome.status, outcome.code) == ("temporary", "timeout")


def test_receipts_and_replies_parse():
    report = """[
      {"phone_number": "13800138000", "send_time": "2026-05-01 09:00:00",
       "report_time": "2026-05-01 09:00:05", "success": true, "err_code": "DELIVERED",
       "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "900001^0", "out_id": "m1"},
      {"phone_number": "13900000000", "send_time": "2026-05-01 09:00:00",
       "report_time": "2026-05-01 09:00:09", "success": false, "err_code": "MK:0001",
       "err_msg": "空号", "sms_size": "1", "biz_id": "900001^0", "out_id": "m2"}
    ]""".encode()
    assert parse_receipts(report) == [
        Receipt("900001^0", "13800138000", True, "DELIVERED", "用户接收成功"),
        Receipt("900001^0", "13900000000", False, "MK:0001", "空号"),
    ]
    up = """[{"phone_number": "13800138000", "send_time": "2026-05-01 10:00:00",
              "content": "TD", "sign_name": "驻村", "dest_code": "1234",
              "sequence_id": 1234567890}]""".encode()
    assert parse_replies(up) == [Reply("13800138000", "TD")]
    assert CALLBACK_ANSWER == {"code": 0, "msg": "成功"}
