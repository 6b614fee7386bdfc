"""The region directory (行政区划): the shipped county, and another county's CSV imported."""

import pytest

from gateway import service
from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.errors import Invalid
from services.common.testing import FAST_SETTINGS, count_rows, serving
from zhucun.seed import REGION_CSV

# 高县 (511525), another county of Yibin, down to two of its townships.
GAOXIAN = """code,name,level,parent
511525000000,高县,county,511500000000
511525100000,庆符镇,township,511525000000
511525101000,沙河镇,township,511525000000
"""


async def load(url: str, path) -> int:
    db = Database(url, pool_size=1)
    async with db.transaction() as session:
        count = await service.import_regions(session, service.read_region_csv(path))
    await db.dispose()
    return count


async def test_another_countys_csv_joins_the_directory_and_twice_changes_nothing(
    gateway_db, nats_url, issuer, tmp_path
):
    csv = tmp_path / "regions-511525.csv"
    csv.write_text(GAOXIAN, encoding="utf-8")

    shipped = await load(gateway_db, REGION_CSV)
    assert await load(gateway_db, csv) == 3
    assert await load(gateway_db, csv) == 3
    settings = GatewaySettings(
        database_url=gateway_db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    async with serving(gateway_app(settings)) as client:
        townships = await client.get(
            "/api/v1/regions",
            params={"parent": "511525000000"},
            headers=issuer.headers("viewer", region_code="511525000000"),
        )

    assert shipped >= 14  # Sichuan, Yibin, Pingshan and its 11 townships
    assert await count_rows(gateway_db, "region") == shipped + 3
    assert [(r["code"], r["name"]) for r in townships.json()["items"]] == [
        ("511525100000", "庆符镇"),
        ("511525101000", "沙河镇"),
    ]


def test_a_bad_row_names_its_line_and_nothing_is_read(tmp_path):
    csv = tmp_path / "broken.csv"
    csv.write_text(GAOXIAN + "51152510200,少一位镇,township,511525000000\n", encoding="utf-8")

    with pytest.raises(Invalid, match="第 5 行"):
        service.read_region_csv(csv)
