"""Tables out of Duly: CSV and XLSX through tablib (openpyxl underneath), RTF through pandoc
(pypandoc-binary ships the pandoc binary). Nothing here writes a file format by hand."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pypandoc
import tablib
from django.utils import timezone

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "rtf": "application/rtf",
}


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    filename: str


def _cell(value):
    """Decimals stay exact (a number in XLSX, its digits in CSV); dates as ISO, a point in time in the
    active (the tenant's) time zone with its offset; ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value
    return str(value)


def export_table(*, title: str, headers: Sequence[str], rows: Iterable[Sequence], fmt: str, name: str) -> Export:
    """One table in ``fmt`` (``csv``, ``xlsx`` or ``rtf``).

    :raises ValueError: an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format “{fmt}”.")
    data = tablib.Dataset(*([_cell(v) for v in row] for row in rows), headers=list(headers), title=title[:31])
    if fmt == "csv":
        content = data.export("csv").encode("utf-8")
    elif fmt == "xlsx":
        content = data.export("xlsx")
    else:
        content = _rtf(title=title, data=data).encode("utf-8")
    return Export(content=content, content_type=FORMATS[fmt], filename=f"{name}.{fmt}")


def _rtf(*, title: str, data: tablib.Dataset) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in data.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in data
    )
    document = f"<h1>{html.escape(title)}</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return pypandoc.convert_text(document, "rtf", format="html", extra_args=["--standalone"])
