"""Pure place helpers that handlers may use too: is a coordinate a real place, which town an
address names. No I/O."""

from __future__ import annotations

import math
import re


def valid_point(latitude: float | None, longitude: float | None) -> bool:
    """A real place on Earth: both coordinates finite and in range (WeChat's own or a forged message
    may carry inf, nan or 91/181, which would crash or mislead the distance measures)."""
    return (latitude is not None and longitude is not None and math.isfinite(latitude)
            and math.isfinite(longitude) and abs(latitude) <= 90.0 and abs(longitude) <= 180.0)


_COUNTY_RE = re.compile(r"^[\u4e00-\u9fff]{0,8}?[省市县]")
_TOWN_RE = re.compile(r"[\u4e00-\u9fff]{2,6}?(?:镇|乡|街道|新区|开发区)")


def town_of(address: str) -> str:
    """The town (镇, 乡, 街道, 新区 …) an address starts with once the county is left out, or ''.

    青溪县溪口镇溪口街25号 → 溪口镇. Every address in stations.yaml names its town, so a town
    needs no field of its own.
    """
    m = _TOWN_RE.match(_COUNTY_RE.sub("", address, count=1))
    return m.group(0) if m else ""
