"""Every route of every app declares its permission and enforces it (generated from the apps).

The table is built from the apps themselves, so a route added without a permission fails here.
"""

import uuid

import pytest

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.attendance.app import create_app as attendance_app
from services.attendance.settings import AttendanceSettings
from services.common.permissions import ROLE_PERMISSIONS
from services.common.testing import FAST_SETTINGS, serving
from services.households.app import create_app as households_app
from services.households.settings import HouseholdsSettings
from services.inspections.app import create_app as inspections_app
from services.inspections.settings import InspectionsSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings

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
