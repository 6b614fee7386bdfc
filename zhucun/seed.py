"""The demo county, shaped like Pingshan (屏山县, 511529): its real townships from the shipped
region CSV, synthetic villages under each (codes `<township 9 digits>2NN`, names marked 示例),
synthetic cadres, and a few days of their check-ins. Idempotent: ids are derived from names, so
a second run neither duplicates nor fails. Later issues extend this one module.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from gateway import service as regions
from gateway.schemas import RegionCreate
from services.attendance import service as attendance
from services.attendance.schemas import CheckinCreate
from services.common.db import Database

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


async def seed_demo_county(server_url: str, prefix: str = "zhucun") -> None:
    from zhucun.stack import database_url

    county = regions.read_region_csv(REGION_CSV)
    villages = synthetic_villages([r for r in county if r.level == "township"])
    gateway_db = Database(database_url(server_url, "gateway", prefix), pool_size=1)
    async with gateway_db.transaction() as session:
        await regions.import_regions(session, county + villages)
    await gateway_db.dispose()

    cadres = synthetic_cadres(villages)
    attendance_db = Database(database_url(server_url, "attendance", prefix), pool_size=1)
    today = datetime.now(UTC).astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    for checkin in demo_checkins(cadres, today):
        async with attendance_db.transaction() as session:
            await attendance.record_checkin(session, checkin)
    await attendance_db.dispose()
