"""The providers' callbacks with odd bodies: a 4xx problem or a plain answer, never a 500,
and nothing changed."""

import pytest

from services.common.testing import count_rows

TOKEN = {"token": "dev-callback-token-not-for-production"}
ODD = [
    b"5",
    b"[1]",
    b'["x"]',
    b"null",
    b'{"a": 1}',
    b"not json",
    b'[{"biz_id": {"x": 1}, "phone_number": 1, "success": "x", "err_code": {"a": 1}}]',
    b'[{"sid": [1], "mobile": {"m": 1}, "report_status": 7, "errmsg": {"e": 1}}]',
    b'[{"phone_number": "13800001111", "content": ["TD"]}]',
    b'{"mobile": "not a phone", "text": "TD"}',
    b'[{"biz_id": "1\\u0000", "sid": "1\\u0000", "phone_number": "13800001111",'
    b' "mobile": "13800001111", "success": true, "report_status": "SUCCESS",'
    b' "content": "TD\\u0000", "text": "TD\\u0000"}]',
]


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
@pytest.mark.parametrize("kind", ["receipts", "replies"])
async def test_an_odd_body_is_never_a_500_and_changes_nothing(notify, notify_db, provider, kind):
    for body in ODD:
        answer = await notify.post(
            f"/api/v1/notify/callbacks/{provider}/{kind}",
            params=TOKEN,
            content=body,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code in (200, 422), (body, answer.text)
        if answer.status_code == 422:
            assert answer.json()["code"] == "callback_unreadable"
    assert await count_rows(notify_db, "opt_out") == 0
    assert await count_rows(notify_db, "message", "status = 'delivered'") == 0


async def test_a_callback_for_a_provider_we_do_not_have_is_a_422(notify):
    answer = await notify.post("/api/v1/notify/callbacks/sendgrid/receipts", params=TOKEN)
    assert answer.status_code == 422
