"""Villages' check-in areas: circles and GeoJSON polygons, several a village, never deleted."""

import pytest

from services.common.testing import count_rows
from tests.attendance.factories import checkin_area_body

URL = "/api/v1/attendance/checkin-areas"
# A hamlet's outline, [lon, lat], closed.
HAMLET = [[104.16, 28.64], [104.17, 28.64], [104.17, 28.65], [104.16, 28.64]]


def polygon(*rings: list[list[float]]) -> dict:
    return {"kind": "polygon", "polygon": {"type": "Polygon", "coordinates": list(rings)}}


async def test_a_village_has_several_areas_of_either_kind(attendance, attendance_db):
    circle = await attendance.post(URL, json=checkin_area_body())
    hamlet = await attendance.post(
        URL, json=checkin_area_body(name="三组", geometry=polygon(HAMLET))
    )
    listed = await attendance.get(URL, params={"region_code": "511529100201"})

    assert (circle.status_code, hamlet.status_code) == (201, 201)
    assert hamlet.headers["location"] == f"{URL}/{hamlet.json()['id']}"
    assert hamlet.json()["geometry"] == polygon(HAMLET)
    assert circle.json()["geometry"]["radius_m"] == 300
    assert [a["id"] for a in listed.json()["items"]] == [hamlet.json()["id"], circle.json()["id"]]
    audited = "action = 'attendance.checkin_area.added' AND region_code = '511529100201'"
    assert await count_rows(attendance_db, "audit_entry", audited) == 2


async def test_a_retired_area_stays_readable(attendance, attendance_db):
    area = (await attendance.post(URL, json=checkin_area_body())).json()
    retired = await attendance.post(f"{URL}/{area['id']}/retire")
    again = await attendance.post(f"{URL}/{area['id']}/retire")
    deleted = await attendance.delete(f"{URL}/{area['id']}")

    assert retired.status_code == 200
    assert retired.json()["retired_at"] is not None
    assert again.status_code == 409
    assert again.json()["code"] == "checkin_area_already_retired"
    assert deleted.status_code == 405
    assert (await attendance.get(f"{URL}/{area['id']}")).json() == retired.json()
    active = await attendance.get(URL, params={"active": "true"})
    past = await attendance.get(URL, params={"active": "false"})
    assert active.json()["items"] == []
    assert [a["id"] for a in past.json()["items"]] == [area["id"]]
    assert await count_rows(attendance_db, "checkin_area") == 1


async def test_a_township_officer_keeps_to_their_township(attendance, issuer):
    officer = issuer.headers("township_officer", region_code="511529100000")
    elsewhere = (
        await attendance.post(URL, json=checkin_area_body(region_code="511529101201"))
    ).json()

    own = await attendance.post(URL, json=checkin_area_body(), headers=officer)
    outside = await attendance.post(
        URL, json=checkin_area_body(region_code="511529101201"), headers=officer
    )
    read = await attendance.get(f"{URL}/{elsewhere['id']}", headers=officer)
    retire = await attendance.post(f"{URL}/{elsewhere['id']}/retire", headers=officer)
    cadre = await attendance.post(
        URL, json=checkin_area_body(), headers=issuer.headers("first_secretary")
    )

    assert own.status_code == 201
    assert (outside.status_code, outside.json()["code"]) == (403, "outside_scope")
    assert (read.status_code, read.json()["code"]) == (404, "checkin_area_not_found")
    assert retire.status_code == 404
    assert (cadre.status_code, cadre.json()["code"]) == (403, "permission_denied")


def circle(**overrides: float) -> dict:
    return {"kind": "circle", "latitude": 28.6, "longitude": 104.1, "radius_m": 50, **overrides}


BAD = {
    "radius too small": circle(radius_m=5),
    "radius too large": circle(radius_m=20_001),
    "centre off the globe": circle(latitude=95),
    "unknown kind": {**circle(), "kind": "hexagon"},
    "not a polygon": {"kind": "polygon", "polygon": {"type": "Point", "coordinates": [104, 28]}},
    "ring not closed": polygon([*HAMLET[:-1], [104.18, 28.66]]),
    "ring too short": polygon([HAMLET[0], HAMLET[1], HAMLET[0]]),
    "[lat, lon] instead of [lon, lat]": polygon([[lat, lon] for lon, lat in HAMLET]),
    "a position of one number": polygon([[104.16], *HAMLET[1:-1], [104.16]]),
    "no rings": polygon(),
}  # fmt: skip


async def test_an_area_belongs_to_a_village(attendance):
    township = await attendance.post(URL, json=checkin_area_body(region_code="511529100000"))

    assert township.status_code == 422
    assert township.json()["errors"][0]["field"] == "region_code"


@pytest.mark.parametrize("case", BAD)
async def test_a_bad_shape_is_a_clear_422_and_stores_nothing(case, attendance, attendance_db):
    response = await attendance.post(URL, json=checkin_area_body(geometry=BAD[case]))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_failed"
    assert await count_rows(attendance_db, "checkin_area") == 0
    assert await count_rows(attendance_db, "audit_entry") == 0
