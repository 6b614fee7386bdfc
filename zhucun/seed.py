"""The demo county, shaped like Pingshan (屏山县, 511529): its real townships from the shipped
region CSV, synthetic villages under each (codes `<township 9 digits>2NN`, names marked 示例),
a demo user for every role, synthetic cadres, and a few days of their check-ins; in production
the region directory only. Idempotent: ids are derived from names, so a second run neither
duplicates nor fails. Later issues extend this one module.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import service as regions
from gateway.identity import service as identity
from gateway.identity.models import UserAccount
from gateway.identity.schemas import UserCreate
from gateway.schemas import RegionCreate
from gateway.settings import GatewaySettings
from services.attendance import service as attendance
from services.attendance.schemas import CheckinCreate
from services.common.db import Database
from services.common.permissions import Role
from services.common.sensitive import SensitiveData

ROOT = Path(__file__).resolve().parents[1]
REGION_CSV = ROOT / "data" / "regions-511529.csv"
COUNTY = "511529000000"
TZ = ZoneInfo("Asia/Shanghai")
NUMERALS = "一二三四五六七八九十"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗阿吉沙曲"
GIVEN = ["建国", "小梅", "志强", "秀英", "文军", "海燕", "德华", "丽娟", "明", "勇", "拉哈", "木呷"]


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


@dataclass(frozen=True)
class Cadre:
    """A synthetic stationed cadre: the first secretary (第一书记) of one village."""

    id: UUID
    name: str
    village: RegionCreate


def synthetic_cadres(villages: list[RegionCreate]) -> list[Cadre]:
    rng = random.Random(COUNTY)
    return [
        Cadre(demo_id("cadre", v.code), rng.choice(SURNAMES) + rng.choice(GIVEN), v)
        for v in villages
    ]


def demo_checkins(cadres: list[Cadre], today: datetime) -> list[CheckinCreate]:
    """Three mornings of check-ins for the first few villages' secretaries."""
    checkins = []
    for cadre in cadres[:12]:
        rng = random.Random(str(cadre.id))
        for days_ago in range(1, 4):
            day = (today - timedelta(days=days_ago)).date()
            at = datetime.combine(day, time(8, rng.randint(0, 59)), TZ)
            checkins.append(
                CheckinCreate(
                    client_id=demo_id("checkin", cadre.id, day),
                    cadre_id=cadre.id,
                    region_code=cadre.village.code,
                    latitude=28.64 + rng.uniform(-0.2, 0.2),
                    longitude=104.16 + rng.uniform(-0.2, 0.2),
                    accuracy_m=round(rng.uniform(5, 30), 1),
                    client_time=at,
                )
            )
    return checkins


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
    await gateway_db.dispose()
    if production:
        return  # the region directory only: no demo user, no synthetic cadre

    cadres = synthetic_cadres(villages)
    attendance_db = Database(database_url(server_url, "attendance", prefix), pool_size=1)
    today = datetime.now(UTC).astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    for checkin in demo_checkins(cadres, today):
        async with attendance_db.transaction() as session:
            await attendance.record_checkin(session, checkin, str(TZ))
    await attendance_db.dispose()
