"""The demo county's notify: the dispatching units of the seeded teams (by name, as the roster
gives them: their absences' alerts reach them), a list of 锦屏一村's villagers working away
from home (在外务工, uploaded as a county's staff would), the county's Yi New Year for this year
and next, and a greeting campaign for the next Spring Festival to Pingshan's cadres and that
list, scheduled and previewable (`GET /api/v1/notify/campaigns`).

The users themselves (cadres, leaders and their phones) reach notify from identity's events
once the gateway runs. Everything goes through notify's own service functions, as the demo
county admin; a county already seeded is left as it is.
"""

import csv
import io
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text

from services.common.db import Database
from services.common.permissions import Role
from services.common.sensitive import SensitiveData
from services.notify.campaigns import service as campaigns
from services.notify.campaigns.schemas import Audience, CampaignCreate, FestivalRef
from services.notify.contacts import service as contacts
from services.notify.contacts.schemas import UnitCreate
from services.notify.contacts.sheets import CSV
from services.notify.festivals import service as festivals
from services.notify.festivals.calendar import festivals as computed
from services.notify.festivals.schemas import CountyFestivalSet
from zhucun.seed_attendance import UNITS, caller

TZ = ZoneInfo("Asia/Shanghai")
COUNTY = "511529000000"
VILLAGE = "511529100201"  # 锦屏一村
# 彝族年 in Pingshan: the county announces it each year (three days in late November).
YI_NEW_YEAR = {
    2026: (date(2026, 11, 20), date(2026, 11, 22)),
    2027: (date(2027, 11, 20), date(2027, 11, 22)),
}
AWAY = [
    "王建国",
    "李秀英",
    "张伟",
    "刘洋",
    "陈静",
    "杨帆",
    "赵磊",
    "黄丽",
    "周强",
    "吴敏",
    "徐涛",
    "孙娜",
]


def away_list() -> bytes:
    """锦屏一村's villagers working away, as a township would upload them (示例 numbers)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机号", "区划代码", "在外"])
    for n, name in enumerate(AWAY):
        writer.writerow([f"{name}（示例）", f"1370000{n:04d}", VILLAGE, "是"])
    return out.getvalue().encode("utf-8-sig")


def next_spring_festival(today: date) -> FestivalRef:
    year = next(
        y
        for y in (today.year, today.year + 1)
        if any(f.code == "spring_festival" and f.day > today for f in computed(y))
    )
    return FestivalRef(code="spring_festival", year=year)


async def seed(db: Database, vault: SensitiveData, demo: dict[Role, UUID]) -> None:
    async with db.transaction() as session:
        if (await session.execute(text("SELECT 1 FROM contact WHERE kind = 'unit'"))).first():
            return  # seeded before
    admin = caller(demo[Role.COUNTY_ADMIN], Role.COUNTY_ADMIN, COUNTY)
    async with db.transaction() as session:
        for n, unit in enumerate(UNITS, start=1):
            await contacts.create_unit(
                session,
                vault,
                UnitCreate(
                    unit_code=f"511529-{n:02d}",
                    name=f"屏山{unit}",  # the name the roster gives it (seed_attendance)
                    region_code=COUNTY,
                    phone=f"1390000{n:04d}",
                ),
                admin,
            )
        away, _ = await contacts.upload_list(
            session,
            vault,
            away_list(),
            CSV,
            name="锦屏一村外出务工人员（示例）",
            region_code=VILLAGE,
            caller=admin,
        )
        for year, (first, last) in YI_NEW_YEAR.items():
            await festivals.set_county_festival(
                session,
                "511529",
                "yi_new_year",
                year,
                CountyFestivalSet(name="彝族年", first_day=first, last_day=last),
                admin,
            )
        await campaigns.create_campaign(
            session,
            CampaignCreate(
                name="春节问候（示例）",
                region_code=COUNTY,
                festival=next_spring_festival(datetime.now(TZ).date()),
                template_code="festival_greeting",
                channels=["sms"],
                audience=Audience(roles=["first_secretary", "team_member"], list_ids=[away.id]),
            ),
            admin,
            TZ,
        )
