"""Every route of every app declares its permission and enforces it (generated from the apps).

The table is built from the apps themselves, so a route added without a permission fails here.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.attendance.app import create_app as attendance_app
from services.attendance.settings import AttendanceSettings
from services.common.db import plain_url
from services.common.permissions import ROLE_PERMISSIONS
from services.common.testing import FAST_SETTINGS, TokenIssuer, serving
from services.households.app import create_app as households_app
from services.households.settings import HouseholdsSettings
from services.inspections.app import create_app as inspections_app
from services.inspections.settings import InspectionsSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from tests.attendance.factories import (
    checkin_area_body,
    checkin_body,
    conduct_report_body,
    jpeg_photo,
    post_checkin,
    spot_check_body,
    talk_body,
    team_member_body,
    upload_photo,
)
from tests.notify.factories import list_csv, unit_body, upload_list

APPS = {
    "attendance": (attendance_app, AttendanceSettings),
    "households": (households_app, HouseholdsSettings),
    "inspections": (inspections_app, InspectionsSettings),
    "notify": (notify_app, NotifySettings),
    "gateway": (gateway_app, GatewaySettings),
}
# Open on purpose: health, signing in, the keys that verify tokens, the API's documentation.
PUBLIC = {
    "/healthz",
    "/readyz",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/jwks",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    # The SMS providers' pushes: they carry no token of ours, a secret in the URL instead.
    "/api/v1/notify/callbacks/{provider}/receipts",
    "/api/v1/notify/callbacks/{provider}/replies",
    "/api/v1/notify/callbacks/wechat",  # signed by WeChat with the account's server token
}


def route_table(app) -> list[tuple[str, str, str | None]]:
    """(method, path, declared permission) for every documented route, from the app's OpenAPI:
    a permission is the route's OAuth2 scope."""
    table = []
    for path, item in app.openapi()["paths"].items():
        if path in PUBLIC:
            continue
        for method, operation in item.items():
            scopes = [
                s
                for need in operation.get("security", [])
                for s in need.get("OAuth2PasswordBearer", [])
            ]
            table.append((method.upper(), path, scopes[0] if scopes else None))
    return table


def concrete(path: str) -> str:
    """The path with every parameter filled by an id that exists nowhere."""
    return "/".join(str(uuid.uuid4()) if p.startswith("{") else p for p in path.split("/"))


@pytest.mark.parametrize("name", APPS)
async def test_every_route_declares_and_enforces_its_permission(name, database, nats_url, issuer):
    create_app, settings_class = APPS[name]
    settings = settings_class(
        database_url=await database(name),
        nats_url=nats_url,
        auth_jwks_url=issuer.url,
        **FAST_SETTINGS,
    )
    app = create_app(settings)
    table = route_table(app)
    undeclared = [f"{method} {path}" for method, path, permission in table if permission is None]
    assert undeclared == [], f"routes without a declared permission: {undeclared}"
    assert len(table) >= 3, "every app has routes of its own (the kernel's operations at least)"

    async with serving(app) as client:
        for method, path, permission in table:
            anonymous = await client.request(method, concrete(path), json={})
            assert anonymous.status_code == 401, f"{method} {path} without a token"
            lacking = [r for r, granted in ROLE_PERMISSIONS.items() if permission not in granted]
            if lacking:
                refused = await client.request(
                    method, concrete(path), json={}, headers=issuer.headers(lacking[0].value)
                )
                assert refused.status_code == 403, f"{method} {path} as {lacking[0]}"
                assert refused.json()["code"] == "permission_denied"


# --- Region scope: a caller of village A and the records of village B ------------------------

VILLAGE_A = "511529100201"  # 锦屏一村
VILLAGE_B = "511529100202"  # its neighbour


@dataclass
class Probe:
    """One request a caller of village A makes about village B, and what it must answer:
    404 (a record of B reads as missing), 403 (a write to B), or `unlisted` (a list leaves
    the record with id `unlisted` out)."""

    path: str
    body: dict[str, Any] | None = None
    status: int = 404
    unlisted: str | None = None
    item_status: int | None = None  # a batch answers 200, and each item with its own status
    key: str = "id"  # the field that names a listed record


@dataclass
class Setting:
    """What a case builds village B's records with: the app's client and database."""

    client: httpx.AsyncClient
    issuer: TokenIssuer
    db: str


async def _insert(db: str, statement: str, *args: Any) -> None:
    conn = await asyncpg.connect(plain_url(db))
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


async def _checkin_of_b(s: Setting) -> str:
    body = checkin_body(region_code=VILLAGE_B)
    response = await post_checkin(s.client, s.issuer, body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _created_in_b(path: str, body: dict[str, Any], s: Setting) -> str:
    response = await s.client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _leave_of_b(s: Setting) -> str:
    leave = uuid.uuid4()
    await _insert(
        s.db,
        "INSERT INTO leave_request (id, cadre_id, region_code, member_id, team_role, kind, "
        "first_day, last_day, reason, status, requested_at) VALUES ($1, $2, $3, $4, 'member', "
        "'leave', '2026-11-02', '2026-11-03', '家中有事', 'pending', now())",
        leave,
        uuid.uuid4(),
        VILLAGE_B,
        uuid.uuid4(),
    )
    return str(leave)


async def _cadre_day_of_b(s: Setting) -> Probe:
    body = checkin_body(region_code=VILLAGE_B, client_time="2026-11-23T08:05:00+08:00")
    assert (await post_checkin(s.client, s.issuer, body)).status_code == 201
    path = f"{ATTENDANCE}/cadre-days?from=2026-11-01&to=2026-11-30"
    return Probe(path, status=200, unlisted=body["cadre_id"], key="cadre_id")


async def _report_of_b(path: str, key: str, s: Setting) -> Probe:
    """A check-in of village B makes its day; the report of village A's reader leaves it out."""
    body = checkin_body(region_code=VILLAGE_B, client_time="2026-11-23T08:05:00+08:00")
    assert (await post_checkin(s.client, s.issuer, body)).status_code == 201
    unlisted = body["cadre_id"] if key == "cadre_id" else VILLAGE_B
    return Probe(f"{path}&from=2026-11-01&to=2026-11-30", status=200, unlisted=unlisted, key=key)


async def _team_member_of_b(s: Setting) -> str:
    return await _created_in_b(MEMBERS, team_member_body(region_code=VILLAGE_B), s)


async def _checkin_area_of_b(s: Setting) -> str:
    return await _created_in_b(AREAS, checkin_area_body(region_code=VILLAGE_B), s)


async def _cadre_of_b(s: Setting) -> str:
    """A cadre on village B's team (a term through the roster route)."""
    body = team_member_body(region_code=VILLAGE_B)
    await _created_in_b(MEMBERS, body, s)
    return body["cadre_id"]


async def _spot_check_of_b(s: Setting) -> str:
    body = spot_check_body(region_code=VILLAGE_B, found=[await _cadre_of_b(s)])
    return await _created_in_b(SPOT_CHECKS, body, s)


async def _conduct_report_of_b(s: Setting) -> str:
    return await _created_in_b(CONDUCT_REPORTS, conduct_report_body(region_code=VILLAGE_B), s)


async def _talk_of_b(s: Setting) -> str:
    unsolved = [{"description": "补助未发", "solved": False}]
    body = talk_body(await _cadre_of_b(s), region_code=VILLAGE_B, problems=unsolved)
    return await _created_in_b(TALKS, body, s)


async def _photo_of_b(s: Setting) -> str:
    response = await upload_photo(s.client, jpeg_photo(), region_code=VILLAGE_B)
    assert response.status_code == 201, response.text
    return response.json()["sha256"]


async def _dead_letter_of_b(s: Setting) -> str:
    letter = uuid.uuid4()
    envelope = {"id": str(uuid.uuid4()), "type": "x.y.happened", "regioncode": VILLAGE_B}
    await _insert(
        s.db,
        "INSERT INTO dead_letter (id, consumer, event_id, event_type, envelope, error, "
        "deliveries) VALUES ($1, 'some-consumer', $2, 'x.y.happened', $3, 'boom', 5)",
        letter,
        uuid.UUID(envelope["id"]),
        orjson.dumps(envelope).decode(),
    )
    return str(letter)


async def _audit_entry_of_b(s: Setting) -> str:
    entry = uuid.uuid4()
    await _insert(
        s.db,
        "INSERT INTO audit_entry (id, at, action, region_code) VALUES ($1, now(), 'x.done', $2)",
        entry,
        VILLAGE_B,
    )
    return str(entry)


async def _message_of_b(s: Setting) -> str:
    message = uuid.uuid4()
    await _insert(
        s.db,
        "INSERT INTO message (id, idempotency_key, region_code, channel, template, body, status, "
        "created_at, not_before, updated_at) "
        "VALUES ($1, $1, $2, 'console', 't', 'b', 'sent', now(), now(), now())",
        message,
        VILLAGE_B,
    )
    return str(message)


async def _unit_of_b(s: Setting) -> str:
    body = unit_body(region_code=VILLAGE_B, unit_code=f"B-{uuid.uuid4().hex[:12]}")
    return await _created_in_b(UNITS, body, s)


async def _contact_list_of_b(s: Setting) -> str:
    villager = list_csv([["二村村民", "13800003333", "", "否"]])
    response = await upload_list(s.client, villager, region_code=VILLAGE_B)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _campaign_of_b(s: Setting) -> str:
    campaign = uuid.uuid4()
    await _insert(
        s.db,
        "INSERT INTO campaign (id, name, region_code, send_at, template_code, channels, "
        "audience_roles, audience_list_ids, status, created_by, created_at, updated_at) "
        "VALUES ($1, '中秋问候', $2, now() + interval '30 days', 'festival_greeting', '{sms}', "
        "'{team_member}', '{}', 'scheduled', $3, now(), now())",
        campaign,
        VILLAGE_B,
        uuid.uuid4(),
    )
    return str(campaign)


async def _user_of_b(s: Setting) -> str:
    response = await s.client.post(
        "/api/v1/identity/users",
        json={
            "login": f"b.{uuid.uuid4().hex[:10]}",
            "display_name": "二村队员",
            "phone": "13800002222",
            "region_code": VILLAGE_B,
            "roles": ["team_member"],
            "password": "Village-B-2026!",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _api_key_of_b(s: Setting) -> str:
    response = await s.client.post(KEYS, json={"name": "二村的系统", "region_code": VILLAGE_B})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _read(
    path: str,
    make: Callable[[Setting], Awaitable[str]],
    s: Setting,
    body: dict[str, Any] | None = None,
) -> Probe:
    """A route on one record of village B: it reads as missing (404), for a write too."""
    return Probe(path.replace("{id}", await make(s)), body)


async def _write(path: str, body: Callable[[], dict[str, Any]], s: Setting) -> Probe:
    return Probe(path, body(), status=403)


async def _as_is(probe: Probe) -> Probe:
    return probe


async def _listed(path: str, make: Callable[[Setting], Awaitable[str]], s: Setting) -> Probe:
    return Probe(path, status=200, unlisted=await make(s))


Case = Callable[[Setting], Awaitable[Probe]]
ATTENDANCE = "/api/v1/attendance"
MEMBERS = f"{ATTENDANCE}/team-members"
AREAS = f"{ATTENDANCE}/checkin-areas"
LEAVE = f"{ATTENDANCE}/leave-requests"
SPOT_CHECKS = f"{ATTENDANCE}/spot-checks"
CONDUCT_REPORTS = f"{ATTENDANCE}/conduct-reports"
TALKS = f"{ATTENDANCE}/talks"
PHOTOS = f"{ATTENDANCE}/photos"
USERS = "/api/v1/identity/users"
KEYS = "/api/v1/identity/api-keys"
FESTIVALS = "/api/v1/notify/festivals"
QUIET_HOURS = "/api/v1/notify/quiet-hours"
CONTACTS = "/api/v1/notify/contacts"
UNITS = "/api/v1/notify/units"
CONTACT_LISTS = "/api/v1/notify/contact-lists"
YI_NEW_YEAR = {"name": "彝族年", "first_day": "2026-11-20", "last_day": "2026-11-22"}
CAMPAIGNS = "/api/v1/notify/campaigns"
CASES: dict[tuple[str, str], Case] = {
    ("POST", f"{ATTENDANCE}/checkins"): partial(
        _write, f"{ATTENDANCE}/checkins", lambda: checkin_body(region_code=VILLAGE_B)
    ),
    ("POST", f"{ATTENDANCE}/checkins/batch"): lambda s: _as_is(
        Probe(
            f"{ATTENDANCE}/checkins/batch",
            {"items": [checkin_body(region_code=VILLAGE_B)]},
            status=200,
            item_status=403,
        )
    ),
    ("GET", f"{ATTENDANCE}/checkins"): partial(_listed, f"{ATTENDANCE}/checkins", _checkin_of_b),
    ("POST", f"{ATTENDANCE}/checkins/{{checkin_id}}/review"): partial(
        _read, f"{ATTENDANCE}/checkins/{{id}}/review", _checkin_of_b, body={"decision": "accepted"}
    ),
    ("GET", f"{ATTENDANCE}/checkins/{{checkin_id}}"): partial(
        _read, f"{ATTENDANCE}/checkins/{{id}}", _checkin_of_b
    ),
    ("POST", PHOTOS): lambda s: _as_is(Probe(f"{PHOTOS}?region_code={VILLAGE_B}", status=403)),
    ("GET", f"{PHOTOS}/{{sha256}}"): partial(_read, f"{PHOTOS}/{{id}}", _photo_of_b),
    ("POST", MEMBERS): partial(_write, MEMBERS, lambda: team_member_body(region_code=VILLAGE_B)),
    ("GET", MEMBERS): partial(_listed, MEMBERS, _team_member_of_b),
    ("GET", f"{MEMBERS}/{{member_id}}"): partial(_read, f"{MEMBERS}/{{id}}", _team_member_of_b),
    ("POST", f"{MEMBERS}/{{member_id}}/end"): partial(
        _read,
        f"{MEMBERS}/{{id}}/end",
        _team_member_of_b,
        body={"last_day": "2026-06-30", "cause": "recalled", "reason": "召回"},
    ),
    ("POST", AREAS): partial(_write, AREAS, lambda: checkin_area_body(region_code=VILLAGE_B)),
    ("GET", AREAS): partial(_listed, AREAS, _checkin_area_of_b),
    ("GET", f"{AREAS}/{{area_id}}"): partial(_read, f"{AREAS}/{{id}}", _checkin_area_of_b),
    ("POST", f"{AREAS}/{{area_id}}/retire"): partial(
        _read, f"{AREAS}/{{id}}/retire", _checkin_area_of_b
    ),
    ("POST", LEAVE): partial(
        _write,
        LEAVE,
        lambda: {
            "cadre_id": str(uuid.uuid4()),
            "kind": "leave",
            "first_day": "2026-11-02",
            "last_day": "2026-11-03",
            "reason": "家中有事",
        },
    ),
    ("GET", LEAVE): partial(_listed, LEAVE, _leave_of_b),
    ("GET", f"{LEAVE}/{{leave_id}}"): partial(_read, f"{LEAVE}/{{id}}", _leave_of_b),
    ("POST", f"{LEAVE}/{{leave_id}}/approve"): partial(
        _read, f"{LEAVE}/{{id}}/approve", _leave_of_b, body={}
    ),
    ("POST", f"{LEAVE}/{{leave_id}}/refuse"): partial(
        _read, f"{LEAVE}/{{id}}/refuse", _leave_of_b, body={"note": "不批准"}
    ),
    ("POST", f"{LEAVE}/{{leave_id}}/cancel"): partial(_read, f"{LEAVE}/{{id}}/cancel", _leave_of_b),
    ("GET", f"{ATTENDANCE}/cadre-days"): _cadre_day_of_b,
    ("GET", f"{ATTENDANCE}/reports/cadres"): partial(
        _report_of_b, f"{ATTENDANCE}/reports/cadres?format=json", "cadre_id"
    ),
    ("GET", f"{ATTENDANCE}/reports/regions"): partial(
        _report_of_b, f"{ATTENDANCE}/reports/regions?level=team", "region_code"
    ),
    # Another county's rule reads as missing; a village's cadre sets no county's rule.
    ("GET", f"{ATTENDANCE}/rules/{{region_code}}"): lambda s: _as_is(
        Probe(f"{ATTENDANCE}/rules/511528000000")
    ),
    ("PUT", f"{ATTENDANCE}/rules/{{region_code}}"): lambda s: _as_is(
        Probe(f"{ATTENDANCE}/rules/511529000000", {}, status=403)
    ),
    ("POST", SPOT_CHECKS): partial(
        _write,
        SPOT_CHECKS,
        lambda: spot_check_body(region_code=VILLAGE_B, found=[str(uuid.uuid4())]),
    ),
    ("GET", SPOT_CHECKS): partial(_listed, SPOT_CHECKS, _spot_check_of_b),
    ("GET", f"{SPOT_CHECKS}/{{spot_check_id}}"): partial(
        _read, f"{SPOT_CHECKS}/{{id}}", _spot_check_of_b
    ),
    ("POST", CONDUCT_REPORTS): partial(
        _write, CONDUCT_REPORTS, lambda: conduct_report_body(region_code=VILLAGE_B)
    ),
    ("GET", CONDUCT_REPORTS): partial(_listed, CONDUCT_REPORTS, _conduct_report_of_b),
    ("GET", f"{CONDUCT_REPORTS}/{{report_id}}"): partial(
        _read, f"{CONDUCT_REPORTS}/{{id}}", _conduct_report_of_b
    ),
    ("POST", TALKS): partial(
        _write, TALKS, lambda: talk_body(str(uuid.uuid4()), region_code=VILLAGE_B)
    ),
    ("GET", TALKS): partial(_listed, TALKS, _talk_of_b),
    ("GET", f"{TALKS}/missing"): partial(
        _listed, f"{TALKS}/missing?month=2026-11", _team_member_of_b
    ),
    ("GET", f"{TALKS}/{{talk_id}}"): partial(_read, f"{TALKS}/{{id}}", _talk_of_b),
    ("POST", f"{TALKS}/{{talk_id}}/escalate"): partial(
        _read, f"{TALKS}/{{id}}/escalate", _talk_of_b, body={"note": "需乡镇协调"}
    ),
    ("GET", "/api/v1/notify/messages"): partial(_listed, "/api/v1/notify/messages", _message_of_b),
    ("GET", "/api/v1/notify/messages/{message_id}"): partial(
        _read, "/api/v1/notify/messages/{id}", _message_of_b
    ),
    # Another county's festivals read as missing; a village's caller sets no county's festival.
    ("GET", FESTIVALS): lambda s: _as_is(Probe(f"{FESTIVALS}?year=2026&county_code=511528")),
    **{
        (method, f"{FESTIVALS}/{{county_code}}/{{code}}/{{year}}"): lambda s: _as_is(
            Probe(f"{FESTIVALS}/511529/yi_new_year/2026", YI_NEW_YEAR, status=403)
        )
        for method in ("PUT", "DELETE")
    },
    # Notify's quiet hours: another county's read as missing; a village's caller sets and
    # removes no county's (a township's neither: tests/notify/test_quiet_hours.py).
    ("GET", f"{QUIET_HOURS}/{{county_code}}"): lambda s: _as_is(Probe(f"{QUIET_HOURS}/511528")),
    ("PUT", f"{QUIET_HOURS}/{{county_code}}"): lambda s: _as_is(
        Probe(f"{QUIET_HOURS}/511529000000", {"starts": "22:00", "ends": "07:00"}, status=403)
    ),
    ("DELETE", f"{QUIET_HOURS}/{{county_code}}"): lambda s: _as_is(
        Probe(f"{QUIET_HOURS}/511529", status=403)
    ),
    # Contacts (联系人): village B's unit and list read as missing, and cannot be changed;
    # a unit or a list for village B is refused.
    ("GET", CONTACTS): partial(_listed, CONTACTS, _unit_of_b),
    ("GET", f"{CONTACTS}/{{contact_id}}"): partial(_read, f"{CONTACTS}/{{id}}", _unit_of_b),
    ("PUT", f"{CONTACTS}/{{contact_id}}/preferences"): partial(
        _read, f"{CONTACTS}/{{id}}/preferences", _unit_of_b, body={"channels": ["sms"]}
    ),
    ("POST", UNITS): partial(_write, UNITS, lambda: unit_body(region_code=VILLAGE_B)),
    ("PUT", f"{UNITS}/{{unit_id}}"): partial(
        _read, f"{UNITS}/{{id}}", _unit_of_b, body={"name": "改名"}
    ),
    ("POST", CONTACT_LISTS): lambda s: _as_is(
        Probe(f"{CONTACT_LISTS}?name=二村名单&region_code={VILLAGE_B}", status=403)
    ),
    ("GET", CONTACT_LISTS): partial(_listed, CONTACT_LISTS, _contact_list_of_b),
    **{
        (method, f"{CONTACT_LISTS}/{{list_id}}"): partial(
            _read, f"{CONTACT_LISTS}/{{id}}", _contact_list_of_b
        )
        for method in ("GET", "DELETE")
    },
    # Campaigns (notify-campaigns): village B's reads as missing, to its acts too; a village's
    # caller schedules none for village B.
    ("POST", CAMPAIGNS): partial(
        _write,
        CAMPAIGNS,
        lambda: {
            "name": "中秋问候",
            "region_code": VILLAGE_B,
            "festival": {"code": "mid_autumn", "year": 2027},
            "template_code": "festival_greeting",
            "channels": ["sms"],
            "audience": {"roles": ["team_member"]},
        },
    ),
    ("GET", CAMPAIGNS): partial(_listed, CAMPAIGNS, _campaign_of_b),
    ("GET", f"{CAMPAIGNS}/{{campaign_id}}"): partial(_read, f"{CAMPAIGNS}/{{id}}", _campaign_of_b),
    ("GET", f"{CAMPAIGNS}/{{campaign_id}}/preview"): partial(
        _read, f"{CAMPAIGNS}/{{id}}/preview", _campaign_of_b
    ),
    **{
        ("POST", f"{CAMPAIGNS}/{{campaign_id}}/{act}"): partial(
            _read, f"{CAMPAIGNS}/{{id}}/{act}", _campaign_of_b
        )
        for act in ("pause", "resume", "cancel")
    },
    ("GET", USERS): partial(_listed, USERS, _user_of_b),
    ("POST", USERS): partial(
        _write,
        USERS,
        lambda: {
            "login": "b.new",
            "display_name": "新队员",
            "region_code": VILLAGE_B,
            "roles": ["team_member"],
            "password": "Village-B-2026!",
        },
    ),
    ("GET", f"{USERS}/{{user_id}}"): partial(_read, f"{USERS}/{{id}}", _user_of_b),
    ("PATCH", f"{USERS}/{{user_id}}"): partial(
        _read, f"{USERS}/{{id}}", _user_of_b, body={"display_name": "改名"}
    ),
    ("POST", f"{USERS}/{{user_id}}/password"): partial(
        _read, f"{USERS}/{{id}}/password", _user_of_b, body={"password": "Another-pass-2026"}
    ),
    **{
        ("POST", f"{USERS}/{{user_id}}/{act}"): partial(_read, f"{USERS}/{{id}}/{act}", _user_of_b)
        for act in ("deactivate", "reactivate", "unlock")
    },
    ("GET", KEYS): partial(_listed, KEYS, _api_key_of_b),
    ("POST", KEYS): partial(_write, KEYS, lambda: {"name": "二村", "region_code": VILLAGE_B}),
    ("GET", f"{KEYS}/{{key_id}}"): partial(_read, f"{KEYS}/{{id}}", _api_key_of_b),
    ("POST", f"{KEYS}/{{key_id}}/revoke"): partial(_read, f"{KEYS}/{{id}}/revoke", _api_key_of_b),
}
for _service in APPS:
    _prefix = f"/api/v1/{_service}"
    CASES[("GET", f"{_prefix}/dead-letters")] = partial(
        _listed, f"{_prefix}/dead-letters", _dead_letter_of_b
    )
    CASES[("GET", f"{_prefix}/audit-entries")] = partial(
        _listed, f"{_prefix}/audit-entries", _audit_entry_of_b
    )
    CASES[("POST", f"{_prefix}/dead-letters/{{dead_letter_id}}/replay")] = partial(
        _read, f"{_prefix}/dead-letters/{{id}}/replay", _dead_letter_of_b
    )
# Routes about no one place, each with its reason.
UNSCOPED: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/regions"): "the region directory is public reference data",
    ("GET", "/api/v1/auth/me"): "the caller's own identity",
    ("POST", "/api/v1/auth/password"): "the caller's own password",
    ("POST", "/api/v1/identity/signing-keys/rotate"): "the gateway's signing key is everyone's",
    **{
        ("POST", path): "an opt-out (退订) is a phone's, whichever place would greet it"
        for path in ("/api/v1/notify/opt-outs", "/api/v1/notify/opt-outs/remove")
    },
    **{
        ("GET", f"/api/v1/{s}/job-runs"): "a periodic job is the service's, not a region's"
        for s in APPS
    },
    # Notify's templates and alert routes: one county's system-wide configuration, which only
    # the county admins (TEMPLATE_MANAGE, ROUTE_MANAGE) change.
    **{
        (method, f"/api/v1/notify/{path}"): "a template is the whole deployment's, not a place's"
        for method, path in (
            ("GET", "templates"),
            ("POST", "templates/preview"),
            ("GET", "templates/{code}/{channel}"),
            ("PUT", "templates/{code}/{channel}"),
            ("DELETE", "templates/{code}/{channel}"),
        )
    },
    **{
        (method, f"/api/v1/notify/{path}"): "an alert route is the whole deployment's"
        for method, path in (
            ("GET", "alert-routes"),
            ("POST", "alert-routes"),
            ("GET", "alert-routes/{route_id}"),
            ("PUT", "alert-routes/{route_id}"),
            ("DELETE", "alert-routes/{route_id}"),
        )
    },
}


def holder_of(permission: str) -> str:
    """The narrowest role that holds the permission: the scope is tested on the roles that
    reach a route, not only on the county admin who holds everything."""
    holders = [
        (len(granted), r.value) for r, granted in ROLE_PERMISSIONS.items() if permission in granted
    ]
    return min(holders)[1]


@pytest.mark.parametrize("name", APPS)
async def test_every_route_keeps_a_village_to_its_own_records(name, database, nats_url, issuer):
    create_app, settings_class = APPS[name]
    db = await database(name)
    settings = settings_class(
        database_url=db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    app = create_app(settings)
    table = route_table(app)
    unknown = [f"{m} {p}" for m, p, _ in table if (m, p) not in CASES and (m, p) not in UNSCOPED]
    assert unknown == [], f"routes with no region-scope case (add one, or say why none): {unknown}"

    async with serving(app) as client:
        client.headers.update(issuer.headers("county_admin"))
        setting = Setting(client, issuer, db)
        for method, path, permission in table:
            if (method, path) in UNSCOPED:
                continue
            probe = await CASES[(method, path)](setting)
            village_a = issuer.headers(holder_of(permission), region_code=VILLAGE_A)
            answer = await client.request(method, probe.path, json=probe.body, headers=village_a)
            assert answer.status_code == probe.status, f"{method} {path}: {answer.text}"
            if probe.item_status is not None:
                [item] = answer.json()["results"]
                assert item["status"] == probe.item_status, f"{method} {path}: {item}"
            if probe.unlisted is not None:
                listed = [item.get(probe.key) for item in answer.json()["items"]]
                assert probe.unlisted not in listed, f"{method} {path} lists village B's record"
