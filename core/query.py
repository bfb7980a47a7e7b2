"""Query-string values, read leniently: a value that is not what the page expects is as if absent."""

from __future__ import annotations

from datetime import date


def query_int(value) -> int | None:
    """A query-string id, or ``None`` for anything that is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def query_date(value: str) -> date | None:
    """A query-string ISO date, or ``None`` for anything that is not one."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
