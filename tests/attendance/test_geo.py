import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.attendance.geo import (
    CHINA_LAT,
    CHINA_LON,
    EARTH_RADIUS_M,
    CircleArea,
    Judgement,
    PolygonArea,
    Position,
    distance_m,
    from_wgs84,
    implied_speed_kmh,
    in_china,
    judge,
    to_wgs84,
)

# Alibaba Cloud's documented example of its coordinate conversion API, 地址标准化 TransferCoord
# (help.aliyun.com/zh/address-purification/addrpapi/developer-reference/
# coordinate-system-conversion): one point in Yuhang, Hangzhou, in the three systems.
HANGZHOU_WGS84 = Position(lat=30.281543, lon=120.021519)
HANGZHOU_GCJ02 = Position(lat=30.279164, lon=120.026268)
HANGZHOU_BD09 = Position(lat=30.285238, lon=120.032768)


def offset(origin: Position, north_m: float = 0.0, east_m: float = 0.0) -> Position:
    """The position so many metres north and east of origin (on the sphere)."""
    lat = origin.lat + math.degrees(north_m / EARTH_RADIUS_M)
    lon = origin.lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return Position(lat, lon)


def square(centre: Position, half_side_m: float) -> dict:
    """A GeoJSON Polygon: a square of the given half side around centre."""
    corners = [
        offset(centre, north_m=n * half_side_m, east_m=e * half_side_m)
        for n, e in [(-1, -1), (-1, 1), (1, 1), (1, -1), (-1, -1)]
    ]
    return {"type": "Polygon", "coordinates": [[[c.lon, c.lat] for c in corners]]}


# Coordinate systems


def test_gcj02_from_wechat_converts_to_the_published_wgs84_point():
    converted = to_wgs84(HANGZHOU_GCJ02.lat, HANGZHOU_GCJ02.lon, "gcj02")
    # Alibaba's answer is the one-step approximate inversion, itself 1.8 m off: we iterate.
    assert distance_m(converted, HANGZHOU_WGS84) < 3.0
    assert distance_m(from_wgs84(converted, "gcj02"), HANGZHOU_GCJ02) < 0.01


def test_bd09_from_baidu_converts_to_the_published_points():
    converted = to_wgs84(HANGZHOU_BD09.lat, HANGZHOU_BD09.lon, "bd09")
    assert distance_m(converted, HANGZHOU_WGS84) < 3.0
    assert distance_m(from_wgs84(converted, "bd09"), HANGZHOU_BD09) < 0.1


@pytest.mark.parametrize(
    ("wgs84", "gcj02"),
    [
        # A published offset service's documented examples (map.yiweihang.com/kaifa/deviation.jsp):
        # near Beijing's Xizhimen, and in Baoding.
        (Position(39.95094, 116.36657), Position(39.952320, 116.372789)),
        (Position(38.95032, 115.21657), Position(38.951179, 115.222782)),
    ],
)
def test_wgs84_to_gcj02_matches_published_points(wgs84, gcj02):
    assert distance_m(from_wgs84(wgs84, "gcj02"), gcj02) < 1.0
    assert distance_m(to_wgs84(gcj02.lat, gcj02.lon, "gcj02"), wgs84) < 1.0


china_positions = st.builds(
    Position,
    lat=st.floats(min_value=CHINA_LAT[0] + 0.1, max_value=CHINA_LAT[1] - 0.1),
    lon=st.floats(min_value=CHINA_LON[0] + 0.1, max_value=CHINA_LON[1] - 0.1),
)


@settings(deadline=None)  # no timed tests: the machine is shared
@given(china_positions, st.sampled_from(["gcj02", "bd09"]))
def test_a_round_trip_through_a_chinese_system_comes_back_within_half_a_metre(position, system):
    shifted = from_wgs84(position, system)
    assert distance_m(shifted, position) > 1.0  # the shift is real everywhere in China
    assert distance_m(to_wgs84(shifted.lat, shifted.lon, system), position) < 0.5


def test_gcj02_is_wgs84_outside_china():
    london = Position(51.5007, -0.1246)
    assert to_wgs84(london.lat, london.lon, "gcj02") == london
    assert from_wgs84(london, "gcj02") == london


def test_an_unknown_coordinate_system_is_refused():
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(30.0, 120.0, "utm")  # type: ignore[arg-type]


def test_an_impossible_position_is_refused():
    with pytest.raises(ValueError, match="latitude"):
        Position(lat=116.4, lon=39.9)
    with pytest.raises(ValueError, match="longitude"):
        Position(lat=39.9, lon=float("nan"))


# China


@pytest.mark.parametrize(
    ("position", "inside"),
    [
        (Position(39.9087, 116.3975), True),  # Tiananmen
        (Position(18.25, 109.5), True),  # Sanya, Hainan
        (Position(47.7, 132.5), True),  # Heilongjiang, the north-east
        (Position(39.5, 75.9), True),  # Kashgar, the far west
        (Position(48.8566, 2.3522), False),  # Paris
        (Position(0.0, 0.0), False),  # a phone that has no fix
        (Position(-33.87, 151.21), False),  # Sydney
    ],
)
def test_in_china(position, inside):
    assert in_china(position) is inside


# Check-in areas


def test_a_wechat_position_inside_the_village_is_inside_once_converted():
    village = PolygonArea.from_geojson(square(HANGZHOU_WGS84, half_side_m=150))
    phone = to_wgs84(HANGZHOU_GCJ02.lat, HANGZHOU_GCJ02.lon, "gcj02")
    assert judge(phone, [village]) == Judgement(inside=True, distance_m=0.0, area_index=0)

    # The same numbers taken as WGS-84 are half a kilometre away: outside.
    unconverted = judge(HANGZHOU_GCJ02, [village])
    assert not unconverted.inside
    assert 400 < distance_m(HANGZHOU_GCJ02, HANGZHOU_WGS84) < 700
    assert unconverted.distance_m > 250


def test_a_baidu_position_inside_the_village_is_inside_once_converted():
    village = PolygonArea.from_geojson(square(HANGZHOU_WGS84, half_side_m=150))
    phone = to_wgs84(HANGZHOU_BD09.lat, HANGZHOU_BD09.lon, "bd09")
    assert judge(phone, [village]).inside

    unconverted = judge(HANGZHOU_BD09, [village])
    assert not unconverted.inside
    assert unconverted.distance_m > 800  # Baidu shifts GCJ-02 a further ~1 km here


def test_a_point_300_m_from_the_centre_of_a_200_m_circle_is_100_m_from_it():
    centre = Position(30.2815, 120.0215)
    area = CircleArea(centre, radius_m=200)
    outside = judge(offset(centre, north_m=300), [area])
    assert not outside.inside
    assert outside.distance_m == pytest.approx(100, abs=0.5)
    assert judge(offset(centre, east_m=150), [area]) == Judgement(True, 0.0, 0)


def test_a_point_beyond_a_polygon_is_as_far_as_its_nearest_edge():
    centre = Position(30.2815, 120.0215)
    area = PolygonArea.from_geojson(square(centre, half_side_m=500))
    outside = judge(offset(centre, north_m=100, east_m=600), [area])
    assert not outside.inside
    assert outside.distance_m == pytest.approx(100, abs=0.5)


def test_a_point_in_a_polygons_hole_is_outside():
    centre = Position(30.2815, 120.0215)
    shell = square(centre, half_side_m=1000)["coordinates"][0]
    hole = square(centre, half_side_m=300)["coordinates"][0]
    area = PolygonArea.from_geojson({"type": "Polygon", "coordinates": [shell, hole]})
    in_hole = judge(centre, [area])
    assert not in_hole.inside
    assert in_hole.distance_m == pytest.approx(300, abs=0.5)


def test_a_village_with_scattered_hamlets_judges_against_each_of_its_areas():
    centre = Position(30.2815, 120.0215)
    hamlet = offset(centre, east_m=3000)
    areas = [
        CircleArea(centre, radius_m=200),
        PolygonArea.from_geojson(square(hamlet, half_side_m=250)),
    ]
    assert judge(offset(hamlet, north_m=100), areas) == Judgement(True, 0.0, 1)
    between = judge(offset(hamlet, east_m=-450), areas)
    assert (between.inside, between.area_index) == (False, 1)
    assert between.distance_m == pytest.approx(200, abs=0.5)


def test_a_village_without_areas_cannot_be_judged():
    with pytest.raises(ValueError, match="no check-in area"):
        judge(Position(30.2815, 120.0215), [])


def bow_tie() -> list[list[float]]:
    return [[120.0, 30.0], [120.01, 30.01], [120.01, 30.0], [120.0, 30.01], [120.0, 30.0]]


kashgar = square(Position(39.5, 75.9), half_side_m=500)["coordinates"][0]


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        ({"type": "Point", "coordinates": [120.0, 30.0]}, "GeoJSON"),
        ({"type": "Polygon", "coordinates": []}, "at least one ring"),
        (
            {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.01, 30.0], [120.0, 30.0]]]},
            "at least 4 positions",
        ),
        (
            {"type": "Polygon", "coordinates": [[*bow_tie()[:-1], [120.0, 30.001]]]},
            "must be closed",
        ),
        ({"type": "Polygon", "coordinates": [bow_tie()]}, "invalid: Self-intersection"),
        (
            {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.01], *bow_tie()[2:]]]},
            "must be \\[lon, lat\\]",
        ),
        (  # latitude and longitude swapped: a square in Kashgar lands in the Arctic Ocean
            {"type": "Polygon", "coordinates": [[[lat, lon] for lon, lat in kashgar]]},
            "must be in China",
        ),
    ],
)
def test_a_bad_polygon_is_refused_with_a_clear_message(geojson, message):
    with pytest.raises(ValueError, match=message) as refused:
        PolygonArea.from_geojson(geojson)
    assert " / " in str(refused.value)  # Chinese, then English


def test_a_circle_needs_a_positive_radius_in_china():
    with pytest.raises(ValueError, match="radius must be positive"):
        CircleArea(Position(30.28, 120.02), radius_m=0)
    with pytest.raises(ValueError, match="must be in China"):
        CircleArea(Position(48.85, 2.35), radius_m=200)


# Distances and speeds


def test_a_degree_of_latitude_is_111_km():
    one_degree = distance_m(Position(30.0, 120.0), Position(31.0, 120.0))
    assert one_degree == pytest.approx(111_195, rel=1e-4)
    assert distance_m(Position(30.0, 120.0), Position(30.0, 120.0)) == 0.0


def test_implied_speed_between_two_check_ins():
    start = Position(30.0, 120.0)
    ten_km_north = offset(start, north_m=10_000)
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    half_hour_later = at + timedelta(minutes=30)
    assert implied_speed_kmh(start, at, ten_km_north, half_hour_later) == pytest.approx(20)
    assert implied_speed_kmh(ten_km_north, half_hour_later, start, at) == pytest.approx(20)
    assert implied_speed_kmh(start, at, ten_km_north, at) == math.inf
    assert implied_speed_kmh(start, at, start, at) == 0.0
