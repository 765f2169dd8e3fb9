"""Filling a template message's fields from the ``[notify] *_fields`` pairs (``field={placeholder}``),
for outcome notices, staff alerts and member notices alike."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

FIELD_LIMIT = 200
"""Characters kept of each field: WeChat refuses overlong values (47003); the text form has it all."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill_fields(pairs: Iterable[str], values: Mapping[str, str]) -> dict[str, str]:
    """The fields, text around placeholders kept. A placeholder ``values`` lacks is left as written
    (the config check refuses unknown ones, so it shows a mistake rather than hiding it)."""
    fields = {}
    for pair in pairs:
        name, _, pattern = pair.partition("=")
        filled = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), pattern.strip())
        fields[name.strip()] = filled[:FIELD_LIMIT]
    return fields
