"""The statement of account as a page and as a PDF (the print stylesheet, WeasyPrint), and the signed
link a customer opens it by: nothing stored, tamper-proof, working for ``STATEMENT_LINK_DAYS`` days."""

from __future__ import annotations

from datetime import date, timedelta

from django.core import signing
from django.http import HttpResponse
from django.template.loader import render_to_string

from core.l10n import for_customer, for_tenant
from finance import printing
from notifications.selectors import get_notification_settings
from receivables.selectors import Statement

STATEMENT_SALT = "receivables.statement"
STATEMENT_LINK_DAYS = 90


def statement_token(*, tenant_id: int, account_id: int, start: date, end: date) -> str:
    return signing.dumps({"t": tenant_id, "a": account_id, "s": start.isoformat(), "e": end.isoformat()},
                         salt=STATEMENT_SALT, compress=True)


def read_statement_token(token: str) -> tuple[int, int, date, date] | None:
    """``(tenant_id, account_id, start, end)`` of a valid token; ``None`` for a forged, altered or expired one."""
    try:
        value = signing.loads(token, salt=STATEMENT_SALT, max_age=timedelta(days=STATEMENT_LINK_DAYS))
        return int(value["t"]), int(value["a"]), date.fromisoformat(value["s"]), date.fromisoformat(value["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def statement_response(request, statement: Statement, *, as_pdf: bool, pdf_url: str, back_url: str = "",
                       public: bool = False) -> HttpResponse:
    """The statement's page, or its PDF, in the customer's language and the tenant's formats."""
    account = statement.account
    context = {"s": statement, "account": account, "tenant": account.tenant, "as_pdf": as_pdf, "pdf_url": pdf_url,
               "back_url": back_url, "public": public,
               "reply_to": get_notification_settings(tenant=account.tenant).reply_to_email}
    with for_customer(account.customer) if account.customer else for_tenant(account.tenant):
        html = render_to_string("receivables/statement.html", context, request=request)
    if not as_pdf:
        return HttpResponse(html)
    return printing.pdf_response(
        request, html=html, filename=f"statement-{account.pk}-{statement.start:%Y%m%d}-{statement.end:%Y%m%d}.pdf")
