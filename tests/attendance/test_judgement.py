"""Every check-in is judged and the judgement kept with it: the position converted from the
phone's coordinate system, inside or outside the village's areas and how far, impossible
travel, a phone clock ahead of the server's, the phone's mock-location flag, a photo already
on another check-in. A flagged check-in still counts (it is stored) until a reviewer rejects
it."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.attendance.geo import Position, distance_m, from_wgs84
from services.common.testing import count_rows
from tests.attendance.factories import (
    checkin_area_body,
    checkin_body,
    jpeg_photo,
    post_checkin,
    upload_photo,
)

AREAS = "/api/v1/attendance/checkin-areas"
# The village committee (村委会), in WGS-84, and a square of about 400 m around it.
COMMITTEE = Position(lat=28.6400, lon=104.1600)
SQUARE = [[104.158, 28.638], [104.162, 28.638], [104.162, 28.642], [104.158, 28.642]]


async def polygon_area(attendance) -> None:
    ring = [*SQUARE, SQUARE[0]]
    polygon = {"kind": "polygon", "polygon": {"type": "Polygon", "coordinates": [ring]}}
    response = await attendance.post(AREAS, json=checkin_area_body(geometry=polygon))
    assert response.status_code == 201, response.text


def reported(system: str, **overrides) -> dict:
    """A check-in at the committee, as a phone reporting in `system` gives it."""
    shown = from_wgs84(COMMITTEE, system)
    return checkin_body(
        latitude=shown.lat, longitude=shown.lon, coordinate_system=system, **overrides
    )


async def test_a_wechat_position_is_converted_and_judged_inside(attendance, issuer):
    await polygon_area(attendance)
    wechat = reported("gcj02")
    misread = {**wechat, "client_id": str(uuid4()), "coordinate_system": "wgs84"}

    inside = (await post_checkin(attendance, issuer, wechat)).json()
    outside = (await post_checkin(attendance, issuer, misread)).json()

    assert (inside["inside"], inside["distance_m"], inside["flags"]) == (True, 0.0, [])
    assert abs(inside["wgs84_latitude"] - COMMITTEE.lat) < 1e-5
    assert (inside["latitude"], inside["coordinate_system"]) == (wechat["latitude"], "gcj02")
    # The same numbers taken as GPS ones land as far off as GCJ-02 shifts them, less at most
    # the square's half diagonal (the committee is at its centre).
    shift = distance_m(COMMITTEE, from_wgs84(COMMITTEE, "gcj02"))
    half_diagonal = distance_m(COMMITTEE, Position(lat=SQUARE[0][1], lon=SQUARE[0][0]))
    assert outside["inside"] is False and outside["distance_m"] > 100
    assert outside["distance_m"] >= shift - half_diagonal
    assert outside["flags"] == ["outside_area"]


async def test_a_baidu_position_inside_a_circle_is_inside(attendance, issuer):
    circle = {
        "kind": "circle",
        "latitude": COMMITTEE.lat,
        "longitude": COMMITTEE.lon,
        "radius_m": 100,
    }
    await attendance.post(AREAS, json=checkin_area_body(geometry=circle))

    judged = (await post_checkin(attendance, issuer, reported("bd09"))).json()

    assert (judged["inside"], judged["flags"]) == (True, [])


async def test_a_village_without_areas_is_flagged_and_the_checkin_still_counts(
    attendance, attendance_db, issuer
):
    response = await post_checkin(attendance, issuer)

    assert response.status_code == 201
    assert (response.json()["inside"], response.json()["flags"]) == (None, ["no_area"])
    assert await count_rows(attendance_db, "checkin") == 1


async def test_two_hundred_km_in_ten_minutes_is_impossible_travel(attendance, issuer):
    await polygon_area(attendance)
    cadre = str(uuid4())
    at_home = checkin_body(
        cadre_id=cadre, latitude=29.56, longitude=106.55, client_time="2026-11-23T07:50:00+08:00"
    )  # Chongqing, some 200 km off
    in_village = checkin_body(cadre_id=cadre, client_time="2026-11-23T08:00:00+08:00")

    await post_checkin(attendance, issuer, at_home)
    judged = (await post_checkin(attendance, issuer, in_village)).json()

    assert judged["flags"] == ["impossible_travel"]


async def test_a_clock_ahead_and_a_mock_location_are_flagged(attendance, issuer):
    await polygon_area(attendance)
    ahead = datetime.now(UTC) + timedelta(hours=1)

    judged = (
        await post_checkin(
            attendance, issuer, checkin_body(client_time=ahead.isoformat(), mock_location=True)
        )
    ).json()

    assert judged["flags"] == ["clock_ahead", "mock_location"]


async def test_the_thresholds_are_the_countys_own(attendance, issuer):
    await polygon_area(attendance)
    lenient = {"max_travel_kmh": 1000, "max_clock_ahead_minutes": 120}
    assert (await attendance.put("/api/v1/attendance/rules/511529000000", json=lenient)).is_success
    cadre = str(uuid4())
    at_home = checkin_body(
        cadre_id=cadre, latitude=29.56, longitude=106.55, client_time="2026-11-23T07:00:00+08:00"
    )
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    await post_checkin(attendance, issuer, at_home)
    driven_in = (
        await post_checkin(
            attendance,
            issuer,
            checkin_body(cadre_id=cadre, client_time="2026-11-23T08:00:00+08:00"),
        )
    ).json()
    early_clock = (await post_checkin(attendance, issuer, checkin_body(client_time=ahead))).json()

    assert driven_in["flags"] == []  # some 250 km in an hour: too fast for 150 km/h, not 1000
    assert early_clock["flags"] == []  # an hour ahead is within two


async def test_a_photo_already_on_another_checkin_is_flagged_whoevers_it_was(attendance, issuer):
    await polygon_area(attendance)
    photo = (await upload_photo(attendance, jpeg_photo())).json()["sha256"]

    first = (await post_checkin(attendance, issuer, checkin_body(photo_sha256=photo))).json()
    again = (await post_checkin(attendance, issuer, checkin_body(photo_sha256=photo))).json()
    first_now = (await attendance.get(f"/api/v1/attendance/checkins/{first['id']}")).json()

    assert first["flags"] == first_now["flags"] == []  # judged once, when it came
    assert again["flags"] == ["photo_reused"]  # another cadre, the same bytes
    assert again["photo_sha256"] == first["photo_sha256"] == photo


async def test_a_position_outside_china_or_a_perfect_fix_is_refused(
    attendance, attendance_db, issuer
):
    paris = await post_checkin(attendance, issuer, checkin_body(latitude=48.85, longitude=2.35))
    perfect = await post_checkin(attendance, issuer, checkin_body(accuracy_m=0))

    assert (paris.status_code, paris.json()["code"]) == (422, "checkin_outside_china")
    assert perfect.status_code == 422
    assert await count_rows(attendance_db, "checkin") == 0


async def test_a_polygon_that_crosses_itself_is_not_an_area(attendance, attendance_db):
    bow_tie = [[104.158, 28.638], [104.162, 28.642], [104.162, 28.638], [104.158, 28.642]]
    crossed = {"type": "Polygon", "coordinates": [[*bow_tie, bow_tie[0]]]}
    response = await attendance.post(
        AREAS, json=checkin_area_body(geometry={"kind": "polygon", "polygon": crossed})
    )

    assert response.status_code == 422
    assert await count_rows(attendance_db, "checkin_area") == 0
