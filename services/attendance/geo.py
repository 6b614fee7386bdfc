"""Where a check-in was made: coordinate systems, China, check-in areas (签到范围), distances.

Pure functions, no database. Phones report positions in one of three systems:

- WGS-84: raw GPS, what the rest of the world uses;
- GCJ-02 (国测局坐标, "Mars coordinates"): WGS-84 shifted by an obfuscation of a few hundred
  metres, by law what maps in mainland China show; Amap, Tencent and WeChat return it by default
  (its formulas leaked long ago and every converter uses them);
- BD-09 (百度坐标): Baidu's further shift of GCJ-02.

Everything stored and judged here is WGS-84: `to_wgs84` converts on the way in.

The conversions are written by hand: no PyPI package fits. coordTransform (maintained) inverts
GCJ-02 in one step only, 1.8 m off in Hangzhou, the size of the margins a geofence judges; the
others are abandoned (eviltransform 2018, prcoords 2019, coord-convert 2019), need Python 3.14
(prcoords-typed) or are a young pre-1.0 binary binding (geocoordinates-rs). The formulas are forty
lines of arithmetic; the inversion below iterates to well under a millimetre.

Distances use a sphere of the Earth's mean radius (haversine): against the WGS-84 ellipsoid that
is off by 0.5 % at worst (half a metre in a hundred), far below a phone's GPS accuracy.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import shapely
from shapely.validation import explain_validity

CoordinateSystem = Literal["wgs84", "gcj02", "bd09"]

EARTH_RADIUS_M = 6_371_008.8  # the IUGG mean radius

# China, as every GCJ-02 converter tests it (coordTransform's out_of_china): a box, not a border.
# It holds all of mainland China (and Hainan, Taiwan, Hong Kong, Macao) and also bits of the
# neighbours and of the sea. It is what decides whether GCJ-02 shifts a point at all, and the same
# box refuses check-ins "outside China": it catches positions that are plainly abroad or garbage
# (latitude and longitude swapped, a phone reporting 0, 0), not a cadre on the wrong side of a
# border, which the village's check-in areas catch anyway.
CHINA_LAT = (3.86, 53.55)
CHINA_LON = (73.66, 135.05)

# GCJ-02's constants: the Krasovsky 1940 ellipsoid it was defined on.
_KRASOVSKY_A = 6_378_245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0

# The inversions stop when the forward transform of the estimate is within this of the input
# (1e-9 degrees is about 0.1 mm); they take three or four steps, and never more than the limit.
_INVERSION_TOLERANCE_DEG = 1e-9
_INVERSION_MAX_STEPS = 20


@dataclass(frozen=True, slots=True)
class Position:
    """A point on the Earth, in degrees, in whatever system the caller says."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(
                f"纬度必须在 -90 到 90 之间 / latitude must be in [-90, 90]: {self.lat}"
            )
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(
                f"经度必须在 -180 到 180 之间 / longitude must be in [-180, 180]: {self.lon}"
            )


def in_china(position: Position) -> bool:
    """Whether a position is in the China box; check-ins outside it are refused."""
    return (
        CHINA_LAT[0] <= position.lat <= CHINA_LAT[1]
        and CHINA_LON[0] <= position.lon <= CHINA_LON[1]
    )


# Coordinate systems ---------------------------------------------------------------------------


def to_wgs84(lat: float, lon: float, system: CoordinateSystem) -> Position:
    """The WGS-84 position of a point reported in `system`."""
    position = Position(lat, lon)
    if system == "wgs84":
        return position
    if system == "gcj02":
        return _gcj02_to_wgs84(position)
    if system == "bd09":
        return _gcj02_to_wgs84(_bd09_to_gcj02(position))
    raise ValueError(f"未知坐标系 / unknown coordinate system: {system!r}")


def from_wgs84(position: Position, system: CoordinateSystem) -> Position:
    """A WGS-84 position as `system` reports it (to draw an area on a Chinese map)."""
    if system == "wgs84":
        return position
    if system == "gcj02":
        return _wgs84_to_gcj02(position)
    if system == "bd09":
        return _gcj02_to_bd09(_wgs84_to_gcj02(position))
    raise ValueError(f"未知坐标系 / unknown coordinate system: {system!r}")


def _wgs84_to_gcj02(position: Position) -> Position:
    if not in_china(position):
        return position  # GCJ-02 is WGS-84 outside China
    x, y = position.lon - 105.0, position.lat - 35.0
    shift_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )  # fmt: skip
    shift_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )  # fmt: skip
    # The shifts are in metres on the Krasovsky ellipsoid: turn them into degrees there.
    lat_rad = math.radians(position.lat)
    magic = 1.0 - _KRASOVSKY_EE * math.sin(lat_rad) ** 2
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (magic * math.sqrt(magic))
    parallel_radius = _KRASOVSKY_A / math.sqrt(magic) * math.cos(lat_rad)
    return Position(
        position.lat + math.degrees(shift_lat / meridian_radius),
        position.lon + math.degrees(shift_lon / parallel_radius),
    )


def _gcj02_to_bd09(position: Position) -> Position:
    x, y = position.lon, position.lat
    z = math.hypot(x, y) + 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * _BD_X_PI)
    return Position(z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065)


def _gcj02_to_wgs84(position: Position) -> Position:
    if not in_china(position):
        return position
    return _invert(_wgs84_to_gcj02, position)


def _bd09_to_gcj02(position: Position) -> Position:
    return _invert(_gcj02_to_bd09, position)


def _invert(forward: Callable[[Position], Position], target: Position) -> Position:
    """The point that `forward` sends to `target`: neither shift has a closed-form inverse.

    Both shifts are nearly translations (their derivative is the identity to within 1e-3), so
    moving the estimate back by the forward image's error converges, gaining three or more digits
    a step.
    """
    estimate = target
    for _ in range(_INVERSION_MAX_STEPS):
        image = forward(estimate)
        error_lat, error_lon = image.lat - target.lat, image.lon - target.lon
        if max(abs(error_lat), abs(error_lon)) < _INVERSION_TOLERANCE_DEG:
            break
        estimate = Position(estimate.lat - error_lat, estimate.lon - error_lon)
    return estimate


# Distances and speeds -------------------------------------------------------------------------


def distance_m(a: Position, b: Position) -> float:
    """The great-circle distance in metres between two WGS-84 positions (haversine)."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    d_lat, d_lon = lat_b - lat_a, math.radians(b.lon - a.lon)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def implied_speed_kmh(a: Position, at_a: datetime, b: Position, at_b: datetime) -> float:
    """How fast one must have travelled from a to b in the time between them, in km/h.

    The order does not matter (offline batches arrive out of order). Two different places at the
    same instant give infinity: nobody travels that fast.
    """
    kilometres = distance_m(a, b) / 1000.0
    hours = abs((at_b - at_a).total_seconds()) / 3600.0
    if hours == 0.0:
        return 0.0 if kilometres == 0.0 else math.inf
    return kilometres / hours


# Check-in areas -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CircleArea:
    """A check-in area given as a centre (WGS-84) and a radius in metres."""

    centre: Position
    radius_m: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise ValueError(f"半径必须为正数 / the radius must be positive: {self.radius_m}")
        if not in_china(self.centre):
            raise ValueError("签到范围必须在中国境内 / a check-in area must be in China")


@dataclass(frozen=True, slots=True)
class PolygonArea:
    """A check-in area given as a GeoJSON Polygon in WGS-84 ([lon, lat], holes allowed).

    Build it with `from_geojson`, which refuses what is not a valid polygon in China.
    """

    polygon: shapely.Polygon  # in degrees, x = longitude

    @classmethod
    def from_geojson(cls, geojson: Mapping[str, Any]) -> "PolygonArea":
        """Validate a GeoJSON Polygon; a ValueError says, in Chinese and English, what is wrong."""
        if not isinstance(geojson, Mapping) or geojson.get("type") != "Polygon":
            raise ValueError(
                '签到范围必须是 GeoJSON Polygon / the area must be a GeoJSON "Polygon"'
            )
        rings = geojson.get("coordinates")
        if not isinstance(rings, list) or not rings:
            raise ValueError("多边形至少需要一个环 / a polygon needs at least one ring")
        shell, *holes = (_ring(ring) for ring in rings)
        polygon = shapely.Polygon(shell, holes)
        if not polygon.is_valid:
            raise ValueError(
                "多边形无效（边自相交或重叠）"
                f" / the polygon is invalid: {explain_validity(polygon)}"
            )
        return cls(polygon)


Area = CircleArea | PolygonArea


def _ring(ring: Any) -> list[tuple[float, float]]:
    """A GeoJSON linear ring as (lon, lat) pairs; refused unless closed, long enough, in China."""
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValueError("多边形的环至少需要 4 个点 / a ring needs at least 4 positions")
    points = []
    for point in ring:
        if (
            not isinstance(point, list | tuple)
            or len(point) not in (2, 3)  # a third number, the altitude, is allowed and ignored
            or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in point)
        ):
            raise ValueError(f"坐标必须是 [经度, 纬度] / a position must be [lon, lat]: {point!r}")
        position = Position(lat=float(point[1]), lon=float(point[0]))
        if not in_china(position):
            raise ValueError(
                "签到范围必须在中国境内（坐标顺序是 [经度, 纬度]）"
                f" / a check-in area must be in China (positions are [lon, lat]): {point!r}"
            )
        points.append((position.lon, position.lat))
    if points[0] != points[-1]:
        raise ValueError("多边形的环必须闭合 / a ring must be closed (first position = last)")
    return points


@dataclass(frozen=True, slots=True)
class Judgement:
    """A check-in's position against its village's areas.

    inside: in (or on the edge of) at least one area; distance_m: 0 when inside, else how far to
    the nearest area's edge; area_index: which area (the first that holds it, or the nearest).
    """

    inside: bool
    distance_m: float
    area_index: int


def judge(position: Position, areas: Sequence[Area]) -> Judgement:
    """Judge a WGS-84 position against a village's check-in areas (there must be at least one)."""
    if not areas:
        raise ValueError("该村没有签到范围 / the village has no check-in area")
    distances = [_distance_to_area(position, area) for area in areas]
    nearest = min(range(len(areas)), key=distances.__getitem__)
    return Judgement(distances[nearest] == 0.0, distances[nearest], nearest)


def _distance_to_area(position: Position, area: Area) -> float:
    if isinstance(area, CircleArea):
        return max(0.0, distance_m(position, area.centre) - area.radius_m)
    # Project the polygon onto a plane where the position is the origin and distances from it are
    # true: the azimuthal equidistant projection centred there. Distances to an edge are then off
    # only by the edge's curvature in that projection, a relative error of the order of
    # (distance / Earth radius)^2: measured against the spherical cross-track distance, 1 mm for
    # an edge 5 km away (across a village), 1 m at 50 km.
    return shapely.transform(area.polygon, _azimuthal_equidistant(position)).distance(_ORIGIN)


_ORIGIN = shapely.Point(0.0, 0.0)


def _azimuthal_equidistant(centre: Position) -> Callable[[np.ndarray], np.ndarray]:
    """(lon, lat) degrees to metres east and north of `centre`, on the sphere."""
    lat0, lon0 = math.radians(centre.lat), math.radians(centre.lon)

    def project(lon_lat: np.ndarray) -> np.ndarray:
        lon, lat = np.radians(lon_lat[:, 0]), np.radians(lon_lat[:, 1])
        d_lon = lon - lon0
        cos_c = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(d_lon)
        c = np.arccos(np.clip(cos_c, -1.0, 1.0))  # the angular distance from the centre
        # c / sin(c) tends to 1 at the centre itself; sinc avoids dividing zero by zero there.
        k = EARTH_RADIUS_M / np.sinc(c / np.pi)
        x = k * np.cos(lat) * np.sin(d_lon)
        y = k * (np.cos(lat0) * np.sin(lat) - np.sin(lat0) * np.cos(lat) * np.cos(d_lon))
        return np.column_stack((x, y))

    return project
