"""Builds CAMT.053 statements of any size with lxml, in the shape of the hand-written sample."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


@dataclass(frozen=True)
class Entry:
    reference: str
    amount: Decimal
    booked_on: date
    remittance: str = ""
    payer: str = ""
    credit: bool = True
    end_to_end: str = ""
    return_reason: str = ""


def _add(parent, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{NS}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


def statement(iban: str, entries: Iterable[Entry], currency: str = "EUR") -> bytes:
    document = etree.Element(f"{{{NS}}}Document", nsmap={None: NS})
    root = _add(document, "BkToCstmrStmt")
    header = _add(root, "GrpHdr")
    _add(header, "MsgId", "BENCH-1")
    _add(header, "CreDtTm", "2026-12-02T18:00:00")
    stmt = _add(root, "Stmt")
    _add(stmt, "Id", "BENCH")
    _add(_add(_add(stmt, "Acct"), "Id"), "IBAN", iban)
    for entry in entries:
        ntry = _add(stmt, "Ntry")
        _add(ntry, "Amt", f"{entry.amount:.2f}", Ccy=currency)
        _add(ntry, "CdtDbtInd", "CRDT" if entry.credit else "DBIT")
        _add(ntry, "Sts", "BOOK")
        _add(_add(ntry, "BookgDt"), "Dt", entry.booked_on.isoformat())
        _add(ntry, "AcctSvcrRef", entry.reference)
        tx = _add(_add(ntry, "NtryDtls"), "TxDtls")
        if entry.end_to_end:
            _add(_add(tx, "Refs"), "EndToEndId", entry.end_to_end)
        if entry.payer:
            _add(_add(_add(tx, "RltdPties"), "Dbtr"), "Nm", entry.payer)
        if entry.remittance:
            _add(_add(tx, "RmtInf"), "Ustrd", entry.remittance)
        if entry.return_reason:
            _add(_add(_add(tx, "RtrInf"), "Rsn"), "Cd", entry.return_reason)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
