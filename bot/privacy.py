"""Masking of personal data for every reply, log line and export that does not ask for it in full."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: keep the first character only."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(id_number: str) -> str:
    """110105194912310021 -> 110105********0021: region and last four only."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]
