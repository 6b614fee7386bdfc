"""Regions by their statistical division codes (统计用区划代码): 12 digits, province(2) city(2)
county(2) township(3) village(3). A scope is a code's prefix: 511529 covers every township and
village whose code starts with it."""


def region_prefix(region_code: str) -> str:
    """A 12-digit division code as the prefix it covers: 511529000000 -> 511529 (the county),
    511529100000 -> 511529100 (a township); a village's code is its own prefix."""
    for length in (2, 4, 6, 9):
        if region_code[length:] == "0" * (12 - length):
            return region_code[:length]
    return region_code


def county_of(region_code: str) -> str:
    """The county a region lies in: 511529100201 -> 511529000000."""
    return f"{region_code[:6]}000000"


def township_of(region_code: str) -> str:
    """The township a village lies in: 511529100201 -> 511529100000."""
    return f"{region_code[:9]}000"


def code_of_prefix(prefix: str) -> str:
    """The 12-digit code of the region a scope prefix covers: 511529 -> 511529000000. What an
    act over a whole scope (a system-wide setting, an opt-out) is audited under, so the
    scoped audit query of that region's admins sees it."""
    return prefix.ljust(12, "0")
