"""The demo county, shaped like Pingshan (屏山县, 511529): its real townships from the shipped
region CSV, synthetic villages under each (codes `<township 9 digits>2NN`, names marked 示例),
a demo user for every role, and attendance's teams, areas and a month of days
(zhucun/seed_attendance.py), and notify's units, a list and a campaign (zhucun/seed_notify.py);
in production the region directory only. Idempotent: ids are
derived from names, so a second run neither duplicates nor fails.
"""

import random
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import service as regions
from gateway.identity import service as identity
from gateway.identity.models import UserAccount
from gateway.identity.schemas import UserCreate
from gateway.schemas import RegionCreate
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.permissions import Role
from services.common.sensitive import SensitiveData
from zhucun import seed_attendance, seed_notify

ROOT = Path(__file__).resolve().parents[1]
REGION_CSV = ROOT / "data" / "regions-511529.csv"
NUMERALS = "一二三四五六七八九十"


def demo_id(*parts: object) -> UUID:
    """A stable id for a demo record, the same on every run."""
    return uuid5(NAMESPACE_URL, "zhucun-demo:" + ":".join(map(str, parts)))


def synthetic_villages(townships: list[RegionCreate]) -> list[RegionCreate]:
    villages = []
    for township in townships:
        rng = random.Random(township.code)
        stem = township.name.removesuffix("彝族乡").removesuffix("镇").removesuffix("乡")
        for n in range(1, rng.randint(8, 12) + 1):
            name = f"{stem}{NUMERALS[(n - 1) % 10]}{'' if n <= 10 else n}村（示例）"
            villages.append(
                RegionCreate(
                    code=f"{township.code[:9]}2{n:02d}",
                    name=name,
                    level="village",
                    parent=township.code,
                )
            )
    return villages


# One demo user per role, where that role works in Pingshan (never in production).
DEMO_PASSWORD = "Pingshan@2026"
DEMO_USERS: list[tuple[Role, str, str]] = [
    (Role.COUNTY_ADMIN, "511529000000", "县管理员（示例）"),
    (Role.TOWNSHIP_OFFICER, "511529100000", "锦屏镇干部（示例）"),
    (Role.CONTACT_LEADER, "511529100000", "锦屏镇联系村领导（示例）"),
    (Role.FIRST_SECRETARY, "511529100201", "锦屏一村第一书记（示例）"),
    (Role.TEAM_MEMBER, "511529100201", "锦屏一村驻村队员（示例）"),
    (Role.BRANCH_SECRETARY, "511529100201", "锦屏一村支部书记（示例）"),
    (Role.HELPER, "511529100201", "锦屏一村帮扶责任人（示例）"),
    (Role.CONDUCT_SUPERVISOR, "511529100201", "锦屏一村风气监督员（示例）"),
    (Role.INSPECTOR, "511529000000", "县督导组（示例）"),
    (Role.VIEWER, "511529000000", "县级只读（示例）"),
    (Role.INTEGRATION, "511529000000", "防返贫监测系统（示例）"),
]


def demo_login(role: Role) -> str:
    return f"demo.{role.value}"


async def seed_demo_users(session: AsyncSession, vault: SensitiveData) -> int:
    """The demo users that are missing; returns how many were made."""
    made = 0
    for number, (role, region_code, name) in enumerate(DEMO_USERS):
        login = demo_login(role)
        if (
            await session.execute(select(UserAccount.id).where(UserAccount.login == login))
        ).first():
            continue
        await identity.create_user(
            session,
            UserCreate(
                login=login,
                display_name=name,
                phone=f"1390000{number:04d}",
                region_code=region_code,
                roles=[role],
                password=DEMO_PASSWORD,
            ),
            vault,
        )
        made += 1
    return made


async def seed_demo_county(server_url: str, nats_url: str, prefix: str = "zhucun") -> None:
    from zhucun.stack import database_url

    county = regions.read_region_csv(REGION_CSV)
    villages = synthetic_villages([r for r in county if r.level == "township"])
    settings = GatewaySettings(
        database_url=database_url(server_url, "gateway", prefix), nats_url=nats_url
    )
    gateway_db = Database(settings.database_url, pool_size=1)
    production = settings.env == "production"
    async with gateway_db.transaction() as session:
        await regions.import_regions(session, county + villages)
        if not production:
            await seed_demo_users(session, SensitiveData(settings.data_keys, settings.hash_key))
        demo_users = {
            Role(roles[0]): user_id
            for roles, user_id in (
                await session.execute(
                    select(UserAccount.roles, UserAccount.id).where(
                        UserAccount.login.in_([demo_login(r) for r, _, _ in DEMO_USERS])  # type: ignore[attr-defined]
                    )
                )
            ).all()
        }
    await gateway_db.dispose()
    if production:
        return  # the region directory only: no demo user, no synthetic cadre

    attendance_db = Database(database_url(server_url, "attendance", prefix), pool_size=1)
    try:
        placed = seed_attendance.villages_of([(v.code, v.name) for v in villages])
        await seed_attendance.seed(attendance_db, placed, demo_users, demo_id)
    finally:
        await attendance_db.dispose()
    notify_db = Database(database_url(server_url, "notify", prefix), pool_size=1)
    try:
        vault = SensitiveData(settings.data_keys, settings.hash_key)
        await seed_notify.seed(notify_db, vault, demo_users)
    finally:
        await notify_db.dispose()
