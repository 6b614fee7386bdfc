"""One JSON object per line, carrying the request and the event it was written for."""

import io
import json
import logging

from services.common import context
from services.common.logging import JsonFormatter


def test_a_log_line_is_json_with_the_request_and_event_ids():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("notify"))
    logger = logging.getLogger("tests.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    request, event = context.request_id.set("req-7"), context.event_id.set("evt-9")
    try:
        logger.info("message to %s sent", "a cadre", extra={"template": "checkin_receipt"})
        logger.removeHandler(handler)
    finally:
        context.request_id.reset(request)
        context.event_id.reset(event)

    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["service"] == "notify"
    assert record["level"] == "info"
    assert record["message"] == "message to a cadre sent"
    assert (record["request_id"], record["event_id"]) == ("req-7", "evt-9")
    assert record["template"] == "checkin_receipt"
    assert record["time"].endswith("+00:00")


async def test_a_providers_url_with_a_phone_in_it_is_not_logged(capsys):
    """httpx logs each request's URL at INFO; Aliyun's carries the phone numbers."""
    import httpx

    from services.common.logging import configure_logging
    from services.common.testing import listening
    from tests.notify.providers.fakes import WeComFake

    configure_logging("notify")
    async with listening(WeComFake(set()).app()) as url:
        async with httpx.AsyncClient() as client:
            await client.post(f"{url}/cgi-bin/webhook/send?PhoneNumbers=13812345678", json={})
    assert "13812345678" not in capsys.readouterr().out
