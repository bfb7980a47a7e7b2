"""Printouts of ledger documents (HTML and PDF), the customer's link to them, and the transaction
list exports (CSV, XLSX, RTF)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_scopes import scope, scopes_disabled

from crm.access import staff_view
from crm.models import Tenant
from finance import printing, selectors, services
from finance.exports import FORMATS, export_table
from finance.forms import TransactionFilterForm, flash_text
from finance.models import TransactionState

EXPORT_LIMIT = 100_000


def _printout_response(request, txn, *, public: bool, as_pdf: bool, pdf_url: str) -> HttpResponse:
    printout = selectors.printout_of(txn=txn)
    context = {"p": printout, "txn": txn, "tenant": printout.tenant, "public": public, "as_pdf": as_pdf,
               "pdf_url": pdf_url}
    # Amounts and dates in the tenant's locale, whoever looks at them.
    with translation.override(printout.tenant.locale):
        html = render_to_string("finance/print_transaction.html", context, request=request)
    if not as_pdf:
        return HttpResponse(html)
    name = (txn.number or txn.reference_number).lower()
    return printing.pdf_response(request, html=html, filename=f"{txn.classification}-{name}.pdf")


@staff_view
def transaction_printout(request, transaction_id: int):
    txn = selectors.get_printable(tenant=request.tenant, transaction_id=transaction_id)
    pdf_url = reverse("finance:transaction_printout", args=[txn.pk]) + "?format=pdf"
    return _printout_response(request, txn, public=False, as_pdf=request.GET.get("format") == "pdf", pdf_url=pdf_url)


@require_POST
@staff_view
def transaction_printout_send(request, transaction_id: int):
    txn = selectors.get_printable(tenant=request.tenant, transaction_id=transaction_id)
    token = printing.printout_token(tenant_id=request.tenant.pk, transaction_id=txn.pk)
    link = request.build_absolute_uri(reverse("finance:printout_public", args=[token]))
    try:
        sent = services.send_printout(txn=txn, link=link, actor=request.user, at=timezone.now())
    except ValidationError as error:
        messages.error(request, flash_text(error))
    else:
        messages.success(request, _("%(document)s sent to %(name)s (%(recipients)s).") % {
            "document": selectors.printout_of(txn=txn).title, "name": txn.account.customer.name,
            "recipients": ", ".join(n.recipient for n in sent)})
    return redirect("finance:transaction_detail", transaction_id=txn.pk)


@never_cache
def printout_public(request, token: str):
    """The customer's printout, reached by the signed link alone: no login, no tenant until found."""
    found = printing.read_printout_token(token)
    if found is None:
        raise Http404(_("This link is not valid."))
    tenant_id, transaction_id = found
    with scopes_disabled():
        tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404(_("This link is not valid."))
    with scope(tenant=tenant):
        txn = selectors.get_printable(tenant=tenant, transaction_id=transaction_id)
        if txn.state != TransactionState.POSTED:
            raise Http404(_("This link is not valid."))
        pdf_url = reverse("finance:printout_public", args=[token]) + "?format=pdf"
        response = _printout_response(request, txn, public=True, as_pdf=request.GET.get("format") == "pdf",
                                      pdf_url=pdf_url)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


@staff_view
def transaction_export(request, fmt: str):
    """The transactions summary, as filtered, in CSV, XLSX or RTF (at most ``EXPORT_LIMIT`` rows)."""
    if fmt not in FORMATS:
        raise Http404(_("No such format."))
    # An account or customer of another tenant (or none) answers 404, as every tenant-owned reference does.
    if request.GET.get("account"):
        selectors.get_account(tenant=request.tenant, account_id=request.GET["account"])
    if request.GET.get("customer"):
        selectors.get_customer_with_accounts(tenant=request.tenant, customer_id=request.GET["customer"])
    form = TransactionFilterForm(request.GET, tenant=request.tenant)
    rows = selectors.filter_transactions(tenant=request.tenant, filters=form.filters())
    export = export_table(
        title=_("Financial transactions"), headers=selectors.EXPORT_HEADERS, fmt=fmt, name="transactions",
        rows=selectors.transaction_export_rows(rows, limit=EXPORT_LIMIT),
    )
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
