"""Reading a bank's statement file into lines: ISO 20022 CAMT.053 and CAMT.054 (lxml), SWIFT MT940
(``mt-940``), OFX (``ofxtools``) and CSV (a column mapping saved on the bank account).

Parsing is all or nothing: the first line that cannot be read refuses the whole file with its line number
and the reason (``StatementRefused``). XML is read with entities unresolved, no network and no DTD: a file
that declares one is refused, so an external entity can never be fetched or expanded.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import mt940
from django.utils.translation import gettext as _
from lxml import etree
from ofxtools.Parser import OFXTree

from banking.models import Direction, StatementFormat

MAX_TEXT = 500
logging.getLogger("ofxtools").setLevel(logging.WARNING)  # it logs every element it reads at INFO


class StatementRefused(Exception):
    """The file cannot be imported; nothing of it was. ``line`` is 1-based (0: the file as a whole)."""

    def __init__(self, reason: str, line: int = 0):
        super().__init__(reason)
        self.reason, self.line = reason, line

    def __str__(self) -> str:
        if self.line:
            return _("Line %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}
        return self.reason


@dataclass(frozen=True)
class ParsedLine:
    line_no: int
    booked_on: date
    direction: str
    amount: Decimal
    currency: str
    value_on: date | None = None
    bank_reference: str = ""
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance: str = ""
    return_reason: str = ""
    identity: str = ""


@dataclass
class ParsedStatement:
    format: str
    account_iban: str = ""  # the account the file says it is for, when it says so as an IBAN
    lines: list[ParsedLine] = field(default_factory=list)


# --- identity ------------------------------------------------------------------------------------

def _squeeze(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def with_identities(lines: list[ParsedLine]) -> list[ParsedLine]:
    """Each line's identity: ``ref:`` and the bank's reference; where the bank gives none, ``hash:`` and a
    hash of what every format carries alike (booking date, direction, amount, currency, the end-to-end id or
    else the first 35 letters and digits of the remittance text), with its occurrence in the file, so two
    equal payments on one day stay two and a re-import still finds each."""
    seen: Counter[str] = Counter()
    result = []
    for line in lines:
        if line.bank_reference:
            identity = f"ref:{line.bank_reference}"[:100]
        else:
            about = _squeeze(line.end_to_end_id) or _squeeze(line.remittance)[:35]
            fields = "|".join([line.booked_on.isoformat(), line.direction, f"{line.amount:.2f}", line.currency, about])
            digest = hashlib.sha256(fields.encode()).hexdigest()[:40]
            seen[digest] += 1
            identity = f"hash:{digest}:{seen[digest]}"
        result.append(replace(line, identity=identity))
    return result


def _amount(text: str, line: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise StatementRefused(_("the amount %(text)r is not a number.") % {"text": text}, line) from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise StatementRefused(_("the amount %(text)r has more than two decimals.") % {"text": text}, line)
    return value


def _currency(text: str | None, line: int) -> str:
    code = (text or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise StatementRefused(_("the currency %(code)r is not an ISO 4217 code.") % {"code": text or ""}, line)
    return code


# --- format detection ----------------------------------------------------------------------------

def detect(data: bytes) -> str:
    """The format of ``data``: CAMT.053/054 by the XML namespace, OFX by its header or root, MT940 by
    its tags; anything else is read as CSV."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"OFXHEADER" in head or b"<OFX>" in head.upper():
        return StatementFormat.OFX
    if head.startswith(b"<"):
        if b"camt.054" in head:
            return StatementFormat.CAMT054
        if b"camt.053" in head:
            return StatementFormat.CAMT053
        raise StatementRefused(_("this XML file is not a CAMT.053 or CAMT.054 statement."))
    if head.startswith((b":20:", b"{1:")) or b"\n:25:" in head or b"\r\n:25:" in head:
        return StatementFormat.MT940
    return StatementFormat.CSV


def parse(data: bytes, *, fmt: str | None = None, csv_mapping: dict | None = None,
          currency: str = "") -> ParsedStatement:
    """``currency`` is the bank account's, for a CSV file without a currency column.

    :raises StatementRefused: the file, or one of its lines, cannot be read."""
    fmt = fmt or detect(data)
    reader = {
        StatementFormat.CAMT053: _camt, StatementFormat.CAMT054: _camt, StatementFormat.MT940: _mt940,
        StatementFormat.OFX: _ofx,
    }.get(fmt)
    if reader is not None:
        statement = reader(data, fmt)
    else:
        statement = _csv(data, csv_mapping or {}, currency)
    if not statement.lines:
        raise StatementRefused(_("the file holds no booked lines."))
    statement.lines = with_identities(statement.lines)
    return statement


# --- ISO 20022 CAMT ------------------------------------------------------------------------------

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                         huge_tree=False, remove_comments=True, remove_pis=True)


def _xml(data: bytes) -> etree._Element:
    try:
        tree = etree.parse(io.BytesIO(data), PARSER)
    except etree.XMLSyntaxError as error:
        raise StatementRefused(_("the XML is malformed (%(msg)s).") % {"msg": error.msg},
                               error.lineno or 0) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementRefused(_("a statement may not declare a document type (DTD)."), 1)
    return tree.getroot()


class _Camt:
    def __init__(self, root: etree._Element):
        self.ns = root.nsmap.get(None) or ""

    def q(self, path: str) -> str:
        """An ElementPath in the document's namespace: ``Ntry/Amt`` → ``{ns}Ntry/{ns}Amt``."""
        if not self.ns:
            return path
        return "/".join(part if part in (".", "..") else f"{{{self.ns}}}{part}" for part in path.split("/"))

    def text(self, element, path: str) -> str:
        found = element.find(self.q(path))
        return (found.text or "").strip() if found is not None else ""

    def date(self, element, path: str, line: int, *, required: bool) -> date | None:
        raw = self.text(element, f"{path}/Dt") or self.text(element, f"{path}/DtTm")[:10]
        if not raw:
            if required:
                raise StatementRefused(_("the entry has no booking date."), line)
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise StatementRefused(_("the date %(raw)r is not a date.") % {"raw": raw}, line) from None


def _camt(data: bytes, fmt: str) -> ParsedStatement:
    root = _xml(data)
    camt = _Camt(root)
    kind = "camt.054" if fmt == StatementFormat.CAMT054 else "camt.053"
    if kind not in camt.ns:
        raise StatementRefused(_("the XML is not a %(kind)s document.") % {"kind": kind.upper()}, root.sourceline)
    container = "BkToCstmrDbtCdtNtfctn/Ntfctn" if kind == "camt.054" else "BkToCstmrStmt/Stmt"
    statements = root.findall(camt.q(container))
    if not statements:
        raise StatementRefused(_("the document holds no statement."), root.sourceline)
    parsed = ParsedStatement(format=fmt)
    for statement in statements:
        iban = camt.text(statement, "Acct/Id/IBAN").replace(" ", "").upper()
        if parsed.account_iban and iban and iban != parsed.account_iban:
            raise StatementRefused(_("the file mixes two accounts."), statement.sourceline)
        parsed.account_iban = parsed.account_iban or iban
        for entry in statement.findall(camt.q("Ntry")):
            parsed.lines.extend(_camt_entry(camt, entry))
    return parsed


def _camt_entry(camt: _Camt, entry) -> list[ParsedLine]:
    line = entry.sourceline
    status = camt.text(entry, "Sts/Cd") or camt.text(entry, "Sts")
    if status and status != "BOOK":
        return []  # pending or information-only entries are not booked money
    indicator = camt.text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementRefused(_("the credit/debit indicator %(indicator)r is neither CRDT nor DBIT.") % {
            "indicator": indicator}, line)
    amount_element = entry.find(camt.q("Amt"))
    if amount_element is None:
        raise StatementRefused(_("the entry has no amount."), line)
    base = ParsedLine(
        line_no=line,
        booked_on=camt.date(entry, "BookgDt", line, required=True),
        value_on=camt.date(entry, "ValDt", line, required=False),
        direction=Direction.CREDIT if indicator == "CRDT" else Direction.DEBIT,
        amount=_amount(amount_element.text or "", line),
        currency=_currency(amount_element.get("Ccy"), line),
        bank_reference=camt.text(entry, "AcctSvcrRef"),
    )
    reversal = camt.text(entry, "RvslInd").lower() == "true"
    details = entry.findall(camt.q("NtryDtls/TxDtls"))
    if not details:
        return [_checked(base, line)]
    batch = len(details) > 1
    lines = []
    for index, tx in enumerate(details, start=1):
        tx_line = tx.sourceline
        # A batch entry's transactions each carry their own amount; a single one shares the entry's.
        tx_amount = amount_element
        if batch:  # lxml elements without children are falsy: compare with None, never use ``or``
            tx_amount = tx.find(camt.q("Amt"))
            if tx_amount is None:
                tx_amount = tx.find(camt.q("AmtDtls/TxAmt/Amt"))
        if tx_amount is None:
            raise StatementRefused(_("a batch entry's transaction has no amount."), tx_line)
        reference = camt.text(tx, "Refs/AcctSvcrRef") or (
            f"{base.bank_reference}/{index}" if base.bank_reference and batch else base.bank_reference)
        party = "Dbtr" if base.direction == Direction.CREDIT else "Cdtr"
        remittance = " ".join(
            (element.text or "").strip() for element in tx.findall(camt.q("RmtInf/Ustrd"))
        ) or camt.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        end_to_end = camt.text(tx, "Refs/EndToEndId")
        return_reason = camt.text(tx, "RtrInf/Rsn/Cd") or ("REVERSAL" if reversal else "")
        lines.append(_checked(replace(
            base,
            line_no=tx_line,
            amount=_amount(tx_amount.text or "", tx_line),
            currency=_currency(tx_amount.get("Ccy"), tx_line),
            bank_reference=reference[:100],
            end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end[:100],
            counterparty_name=(camt.text(tx, f"RltdPties/{party}/Nm")
                               or camt.text(tx, f"RltdPties/{party}/Pty/Nm"))[:140],
            counterparty_iban=(camt.text(tx, f"RltdPties/{party}Acct/Id/IBAN")).replace(" ", "").upper()[:34],
            remittance=remittance[:MAX_TEXT],
            return_reason=return_reason[:35],
        ), tx_line))
    return lines


def _checked(line: ParsedLine, where: int) -> ParsedLine:
    if line.amount <= 0:
        raise StatementRefused(_("the amount must be more than zero."), where)
    return line


# --- SWIFT MT940 ---------------------------------------------------------------------------------

def _mt940(data: bytes, fmt: str) -> ParsedStatement:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # The :61: lines, in order: the library does not say where a transaction was.
    where = [number for number, raw in enumerate(text.splitlines(), start=1) if raw.startswith(":61:")]
    transactions = mt940.models.Transactions(
        processors={"post_transaction": [mt940.processors.transaction_details_post_processor]},
        options=mt940.Options.all())  # ?31 is the payer's IBAN; RC is signed as the debit it is
    try:
        transactions.parse(text)
    except Exception as error:
        raise StatementRefused(_("the MT940 file is malformed (%(error)s).") % {"error": error}) from None
    if len(transactions) != len(where):
        raise StatementRefused(_("a :61: statement line could not be read."),
                               where[len(transactions)] if len(transactions) < len(where) else 0)
    account = (transactions.data.get("account_identification") or "").replace(" ", "").upper()
    parsed = ParsedStatement(format=fmt, account_iban=account if account[:2].isalpha() else "")
    for number, transaction in zip(where, transactions, strict=True):
        parsed.lines.append(_mt940_line(transaction.data, number))
    return parsed


def _mt940_line(data: dict, line: int) -> ParsedLine:
    status = data.get("status") or ""
    amount = data.get("amount")
    if amount is None or status not in ("C", "D", "RC", "RD"):
        raise StatementRefused(_("the :61: line has no credit/debit mark or amount."), line)
    # C and D are credits and debits; RC reverses a credit (money going back out), RD a debit.
    direction = Direction.CREDIT if status in ("C", "RD") else Direction.DEBIT
    booked = data.get("entry_date") or data.get("date")
    purpose = " ".join(p for p in [data.get("purpose"), data.get("additional_purpose")] if p)
    reference = data.get("bank_reference") or ""
    return _checked(ParsedLine(
        line_no=line,
        booked_on=date(booked.year, booked.month, booked.day),
        value_on=date(data["date"].year, data["date"].month, data["date"].day) if data.get("date") else None,
        direction=direction,
        amount=abs(Decimal(amount.amount)),
        currency=_currency(amount.currency, line),
        bank_reference="" if reference.upper() == "NONREF" else reference[:100],
        end_to_end_id=(data.get("end_to_end_reference") or "")[:100],
        counterparty_name=(data.get("applicant_name") or "")[:140],
        counterparty_iban=(data.get("applicant_iban") or data.get("gvc_applicant_iban") or "")
        .replace(" ", "").upper()[:34],
        remittance=(purpose or data.get("transaction_details") or "")[:MAX_TEXT],
        return_reason="REVERSAL" if status in ("RC", "RD") else "",
    ), line)


# --- OFX -----------------------------------------------------------------------------------------

def _ofx(data: bytes, fmt: str) -> ParsedStatement:
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
        ofx = tree.convert()
        statements = ofx.statements
    except Exception as error:
        raise StatementRefused(_("the OFX file is malformed (%(error)s).") % {"error": error}) from None
    if len(statements) != 1:
        raise StatementRefused(_("the OFX file must hold exactly one bank statement."))
    statement = statements[0]
    text = data.decode("latin-1")
    where, at = [], 0
    while (at := text.find("<STMTTRN>", at)) != -1:
        where.append(text.count("\n", 0, at) + 1)
        at += 1
    account = (statement.account.acctid or "").replace(" ", "").upper()
    parsed = ParsedStatement(format=fmt, account_iban=account if account[:2].isalpha() else "")
    currency = _currency(statement.curdef, 0)
    for number, transaction in zip(where, statement.transactions, strict=False):
        amount = Decimal(transaction.trnamt)
        line_currency = _currency(transaction.currency.cursym, number) if transaction.currency else currency
        parsed.lines.append(_checked(ParsedLine(
            line_no=number,
            booked_on=transaction.dtposted.date(),
            direction=Direction.CREDIT if amount > 0 else Direction.DEBIT,
            amount=abs(amount),
            currency=line_currency,
            bank_reference=(transaction.fitid or "")[:100],
            counterparty_name=(transaction.name or "")[:140],
            remittance=(transaction.memo or "")[:MAX_TEXT],
        ), number))
    return parsed


# --- CSV -----------------------------------------------------------------------------------------

CSV_FIELDS = ["date", "amount", "credit", "debit", "currency", "reference", "name", "iban", "remittance",
              "end_to_end"]


def _csv(data: bytes, mapping: dict, currency: str) -> ParsedStatement:
    columns = mapping.get("columns") or {}
    if not columns.get("date") or not (columns.get("amount") or columns.get("credit")):
        raise StatementRefused(_("this looks like a CSV file, but the bank account has no column mapping for "
                                 "it: set one on the bank account first."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.get("delimiter") or ",")
    missing = [name for name in columns.values() if name and name not in (reader.fieldnames or [])]
    if missing:
        raise StatementRefused(_("the header has no column %(missing)s.") % {"missing": ", ".join(missing)}, 1)
    parsed = ParsedStatement(format=StatementFormat.CSV)
    for row in reader:
        number = reader.line_num
        if not any((value or "").strip() for value in row.values()):
            continue
        parsed.lines.append(_csv_line(row, number, columns, mapping, currency))
    return parsed


def _csv_line(row: dict, line: int, columns: dict, mapping: dict, currency: str) -> ParsedLine:
    def cell(name: str) -> str:
        column = columns.get(name)
        return (row.get(column) or "").strip() if column else ""

    def number(raw: str) -> Decimal:
        if mapping.get("decimal") == ",":
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
        return _amount(raw, line)

    raw_date = cell("date")
    try:
        booked = datetime.strptime(raw_date, mapping.get("date_format") or "%Y-%m-%d").date()
    except ValueError:
        raise StatementRefused(_("the date %(raw)r does not read as %(fmt)s.") % {
            "raw": raw_date, "fmt": mapping.get("date_format") or "%Y-%m-%d"}, line) from None
    if columns.get("amount"):
        signed = number(cell("amount"))
    else:
        credit, debit = cell("credit"), cell("debit")
        signed = number(credit) if credit else -number(debit or "0")
    return _checked(ParsedLine(
        line_no=line,
        booked_on=booked,
        direction=Direction.CREDIT if signed > 0 else Direction.DEBIT,
        amount=abs(signed),
        currency=_currency(cell("currency") or currency, line),
        bank_reference=cell("reference")[:100],
        end_to_end_id=cell("end_to_end")[:100],
        counterparty_name=cell("name")[:140],
        counterparty_iban=cell("iban").replace(" ", "").upper()[:34],
        remittance=cell("remittance")[:MAX_TEXT],
    ), line)
