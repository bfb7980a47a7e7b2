"""Partial changes as typed values: a field left ``UNCHANGED`` keeps what the record holds."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def given(changes) -> dict[str, Any]:
    """The fields of the ``changes`` dataclass that are not ``UNCHANGED``."""
    return {f.name: getattr(changes, f.name) for f in fields(changes) if getattr(changes, f.name) is not UNCHANGED}
