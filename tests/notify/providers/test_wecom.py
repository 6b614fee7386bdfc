import httpx
import pytest

from services.common.testing import listening
from services.notify.providers.wecom import WeComConfig, WeComRobotProvider
from tests.notify.providers.factories import one_by_one, outgoing
from tests.notify.providers.fakes import WeComFake

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake():
    fake = WeComFake({KEY}, clock=Clock())
    async with listening(fake.app()) as url:
        fake.url = url
        yield fake


@pytest.fixture
async def provider(fake):
    provider = WeComRobotProvider(WeComConfig(endpoint=fake.url))
    yield provider
    await provider.close()


def robot(address: str = KEY, **overrides):
    return outgoing(address, **({"template_code": None, "body": "今日走访 12 户"} | overrides))


async def test_text_and_markdown_are_sent(fake, provider):
    outcomes = await provider.send([robot()])
    outcomes += await provider.send([robot(template_code="markdown", body="**整改** 3 项")])

    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert fake.accepted == [
        {"key": KEY, "msgtype": "text", "content": "今日走访 12 户"},
        {"key": KEY, "msgtype": "markdown", "content": "**整改** 3 项"},
    ]


async def test_the_21st_message_in_a_minute_is_rate_limited(fake, provider):
    outcomes = await one_by_one(provider, [robot() for _ in range(21)])

    assert [o.status for o in outcomes] == ["sent"] * 20 + ["temporary"]
    assert (outcomes[-1].code, outcomes[-1].retry_after) == ("45009", 60.0)
    fake.clock.now += 61
    assert (await provider.send([robot()]))[0].status == "sent"


@pytest.mark.parametrize(
    ("message", "code"), [(robot("not-a-key"), "93000"), (robot(body=""), "44004")]
)
async def test_a_bad_key_or_empty_content_is_permanent(fake, provider, message, code):
    [outcome] = await provider.send([message])
    assert (outcome.status, outcome.code) == ("permanent", code)


async def test_busy_then_success(fake, provider):
    fake.fail_next(1, "busy")
    outcomes = await one_by_one(provider, [robot() for _ in range(2)])
    assert [(o.status, o.code) for o in outcomes] == [("temporary", "-1"), ("sent", None)]


async def test_the_fake_refuses_an_unknown_message_type(fake):
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{fake.url}/cgi-bin/webhook/send",
            params={"key": KEY},
            json={"msgtype": "voice", "voice": {"content": "x"}},
        )
    assert answer.json()["errcode"] == 40008
