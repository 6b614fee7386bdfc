import asyncio

import pytest

from services.common.testing import listening
from services.notify.providers.wechat import WeChatConfig, WeChatProvider
from tests.notify.providers.factories import one_by_one, outgoing, send_and_close
from tests.notify.providers.fakes import WeChatFake

APP_ID, SECRET = "wx0123456789abcdef", "county-app-secret"
FOLLOWER = "oFollower000000000000000000"
TEMPLATE = "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY"


@pytest.fixture
async def fake():
    fake = WeChatFake(APP_ID, SECRET, followers={FOLLOWER}, templates={TEMPLATE})
    async with listening(fake.app()) as url:
        fake.url = url
        yield fake


def adapter(url: str, secret: str = SECRET, **kwargs) -> WeChatProvider:
    options = {"kind": kwargs.pop("kind", "template"), "page": kwargs.pop("page", None)}
    config = WeChatConfig(
        app_id=APP_ID,
        app_secret=secret,
        endpoint=url,
        kind=options["kind"],
        subscribe_page=options["page"],
    )
    return WeChatProvider(config, **kwargs)


@pytest.fixture
async def provider(fake):
    provider = adapter(fake.url)
    yield provider
    await provider.close()


def message(openid: str = FOLLOWER, **overrides):
    fields = {"template_code": TEMPLATE, "params": {"thing1": "入户走访", "time2": "5月1日"}}
    return outgoing(openid, **(fields | overrides))


async def test_a_template_message_is_sent_with_its_data(fake, provider):
    [outcome] = await provider.send([message()])

    [accepted] = fake.accepted
    assert accepted["kind"] == "template"
    assert accepted["touser"] == FOLLOWER
    assert accepted["data"] == {"thing1": {"value": "入户走访"}, "time2": {"value": "5月1日"}}
    assert (outcome.status, outcome.provider_message_id) == ("sent", str(accepted["msgid"]))


async def test_a_subscribe_notification_goes_to_bizsend_with_its_page(fake):
    provider = adapter(fake.url, kind="subscribe", page="pages/visits/index")
    # Subscribe notifications need no follow, only the user's consent.
    [outcome] = await send_and_close(provider, [message("oNotFollowing0000000000000")])
    assert outcome.status == "sent"
    assert (fake.accepted[0]["kind"], fake.accepted[0]["page"]) == (
        "subscribe",
        "pages/visits/index",
    )


async def test_the_token_is_cached_across_sends(fake, provider):
    outcomes = await one_by_one(provider, [message() for _ in range(3)])
    assert [o.status for o in outcomes] == ["sent"] * 3
    assert fake.token_fetches == 1


@pytest.mark.parametrize("errcode", ["42001", "40001"])
async def test_an_expired_token_is_refreshed_once_and_the_send_retried(fake, provider, errcode):
    await provider.send([message()])
    fake.expire_tokens(errcode)

    [outcome] = await provider.send([message()])

    assert outcome.status == "sent"
    assert fake.token_fetches == 2
    assert fake.requests == 3  # the first send, the refused one, its retry
    assert len(fake.accepted) == 2


async def test_a_token_near_its_end_is_fetched_again(fake):
    now = [1000.0]
    provider = adapter(fake.url, clock=lambda: now[0])
    try:
        await provider.send([message()])
        now[0] += 7200 - 300 - 1  # still inside the margin
        await provider.send([message()])
        assert fake.token_fetches == 1
        now[0] += 2
        await provider.send([message()])
    finally:
        await provider.close()
    assert fake.token_fetches == 2


async def test_concurrent_sends_fetch_one_token(fake, provider):
    fake.token_delay = 0.2  # every send is waiting while the first fetch is under way

    results = await asyncio.gather(*(provider.send([message()]) for _ in range(5)))

    assert [r[0].status for r in results] == ["sent"] * 5
    assert fake.token_fetches == 1


async def test_concurrent_sends_refused_for_an_expired_token_refresh_it_once(fake, provider):
    await provider.send([message()])
    fake.expire_tokens("42001")
    fake.token_delay = 0.2

    results = await asyncio.gather(*(provider.send([message()]) for _ in range(5)))

    assert [r[0].status for r in results] == ["sent"] * 5
    assert fake.token_fetches == 2


async def test_a_wrong_secret_is_permanent(fake):
    [outcome] = await send_and_close(adapter(fake.url, secret=SECRET + "x"), [message()])
    assert (outcome.status, outcome.code) == ("permanent", "40125")
    assert fake.requests == 0


@pytest.mark.parametrize(
    ("msg", "refuse", "status", "code"),
    [
        (message("oNotFollowing0000000000000"), None, "permanent", "43004"),
        (message(template_code="no-such-template"), None, "permanent", "40037"),
        (message(), ("invalid_number", FOLLOWER), "permanent", "40003"),
        (message(), ("refused_subscription", FOLLOWER), "permanent", "43101"),
        (message(), ("rate_limited", TEMPLATE), "temporary", "45009"),
    ],
)
async def test_each_refusal_maps_to_its_outcome(fake, provider, msg, refuse, status, code):
    if refuse:
        fake.refuse(refuse[1], refuse[0])

    [outcome] = await provider.send([msg])

    assert (outcome.status, outcome.code) == (status, code)
    assert fake.accepted == []


async def test_busy_then_success(fake, provider):
    fake.fail_next(1, "busy")
    outcomes = await one_by_one(provider, [message() for _ in range(2)])
    assert [(o.status, o.code) for o in outcomes] == [("temporary", "-1"), ("sent", None)]
