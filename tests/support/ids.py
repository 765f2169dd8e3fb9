"""Valid 18-character resident ID numbers (GB 11643) for tests.

The check character is computed here, independently of :mod:`bot.signup.validators`, so a test
of the validator does not grade it against itself; ``tests/test_support.py`` checks this against
literal, known-valid numbers.
"""

from __future__ import annotations

from datetime import date, timedelta

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def make_id(birth: date = date(1990, 1, 1), sequence: int = 1, region: str = "330522") -> str:
    """The ID number of someone born on ``birth`` in ``region`` (6 digits); an odd last digit of
    ``sequence`` (0-999) means a man, an even one a woman."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + CHECK_CHARACTERS[total % 11]


def nth_id(n: int) -> str:
    """A different valid ID number for each ``n`` from 0 to 7,299,999 (adults born 1980-1999)."""
    return make_id(date(1980, 1, 1) + timedelta(days=n % 7300), n // 7300 % 1000)
