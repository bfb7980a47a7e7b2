"""Report pages (a period and filters, a table, totals, CSV/XLSX export), the dashboard and segments."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from billing import selectors as billing_selectors
from core.clock import months_back, tenant_today
from core.l10n import money as format_money
from core.l10n import month as l10n_month
from core.pagination import capped_page, page_of
from crm import selectors as crm_selectors
from crm.access import staff_view
from crm.models import Customer
from finance.exports import export_table
from finance.models import Classification
from notifications import selectors as notification_selectors
from receivables import selectors as receivables_selectors
from receivables.services import statements
from reports import charts, selectors, services
from reports.forms import AgedForm, ReportForm, SegmentForm, SegmentMessageForm
from reports.models import SegmentSubject

ROWS_PER_PAGE = 50
EXPORT_LIMIT = 100_000
EXPORTS = ("csv", "xlsx")

REPORTS = {
    "transactions": gettext_lazy("Transactions posted"),
    "documents": gettext_lazy("Invoices, credit notes and invoice cancellations posted"),
    "revenue": gettext_lazy("Revenue by transaction type, and receipts by payment method"),
    "aged": gettext_lazy("Aged receivables"),
    "requests": gettext_lazy("Payment requests by status and staff member"),
    "instalments": gettext_lazy("Instalments due and overdue"),
    "dunning": gettext_lazy("Dunning: invoices by level, notices, late fees, days sales outstanding"),
    "recurring": gettext_lazy("Recurring revenue: its movement, the next 30 days' invoices, card collection"),
}


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def _check_references(request) -> None:
    """A segment or customer of another tenant (or none) named in the query answers 404."""
    if request.GET.get("segment"):
        selectors.get_segment(tenant=request.tenant, segment_id=request.GET["segment"])
    if request.GET.get("customer"):
        try:
            crm_selectors.get_customer(tenant=request.tenant, customer_id=int(request.GET["customer"]))
        except (TypeError, ValueError):
            raise Http404(_("No such customer.")) from None


def _export(request, *, title: str, headers, rows, name: str) -> HttpResponse:
    export = export_table(title=title, headers=headers, rows=rows, fmt=request.GET["format"], name=name)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


def _wants_export(request) -> bool:
    fmt = request.GET.get("format")
    if fmt and fmt not in EXPORTS:
        raise Http404(_("No such format."))
    return bool(fmt)


@staff_view
def index(request):
    return render(request, "reports/index.html", {"reports": REPORTS})


# --- the transaction reports -------------------------------------------------------------------------

TXN_HEADERS = (gettext_lazy("Posted at"), gettext_lazy("Number"), gettext_lazy("Classification"), gettext_lazy("Type"),
               gettext_lazy("Account"), gettext_lazy("Customer"), gettext_lazy("Currency"), gettext_lazy("Net"),
               gettext_lazy("Discount"), gettext_lazy("Tax"), gettext_lazy("Total"), gettext_lazy("Related"))
TXN_FIELDS = ("posted_at", "number", "classification", "type__name", "account__name", "account__customer__name",
              "currency", "net_amount", "discount_amount", "tax_amount", "total_amount", "related__number")


def _transactions(request, slug: str):
    today = tenant_today(request.tenant)
    documents_only = slug == "documents"
    form = ReportForm(request.GET, tenant=request.tenant, today=today,
                      classifications=[Classification(c) for c in selectors.DOCUMENTS] if documents_only
                      else list(Classification))
    period, filters = form.period(), form.filters()
    rows = selectors.transactions_posted(tenant=request.tenant, period=period, filters=filters, today=today,
                                         documents_only=documents_only)
    if _wants_export(request):
        return _export(request, title=REPORTS[slug], headers=TXN_HEADERS, name=f"{slug}-{period.start}-{period.end}",
                       rows=rows.values_list(*TXN_FIELDS)[:EXPORT_LIMIT].iterator(chunk_size=2000))
    totals = selectors.transaction_totals(tenant=request.tenant, period=period, filters=filters, today=today,
                                          documents_only=documents_only)
    known_count = sum(t["count"] for t in totals) if selectors.figures_serve(filters) else None
    page = capped_page(request, rows, ROWS_PER_PAGE, known_count=known_count)
    return render(request, "reports/transactions.html", {
        "slug": slug, "title": REPORTS[slug], "form": form, "period": period, "page": page, "totals": totals,
    })


def _revenue(request, slug: str):
    today = tenant_today(request.tenant)
    form = ReportForm(request.GET, tenant=request.tenant, today=today)
    period, filters = form.period(), form.filters()
    args = {"tenant": request.tenant, "period": period, "filters": filters, "today": today}
    by_type = selectors.revenue_by_type(**args)
    receipts = selectors.receipts_by_method(**args)
    if _wants_export(request):
        rows = [(_("Revenue"), r["currency"], Classification(r["classification"]).label, r["type__name"], r["count"],
                 r["net"], r["discount"], r["tax"], r["without_tax"]) for r in by_type]
        rows += [(_("Receipts"), r["currency"], _("Payment"), r["method"], r["count"], r["received"], r["cancelled"],
                  "", r["net"]) for r in receipts]
        return _export(request, title=REPORTS[slug], name=f"revenue-{period.start}-{period.end}", rows=rows,
                       headers=(_("Section"), _("Currency"), _("Classification"), _("Type or method"), _("Count"),
                                _("Net or received"), _("Discount or cancelled"), _("Tax"), _("Without tax or net")))
    return render(request, "reports/revenue.html", {
        "slug": slug, "title": REPORTS[slug], "form": form, "period": period,
        "by_type": [r | {"credit": r["classification"] in selectors.REVENUE_CREDITS} for r in by_type],
        "totals": selectors.revenue_totals(by_type), "write_offs": selectors.write_offs(**args),
        "receipts": receipts,
    })


AGED_HEADERS = (gettext_lazy("Account"), gettext_lazy("Customer"), gettext_lazy("Currency"), gettext_lazy("Current"),
                "1–30", "31–60", "61–90", "90+", gettext_lazy("Total"))


def _aged(request, slug: str):
    today = tenant_today(request.tenant)
    form = AgedForm(request.GET, tenant=request.tenant, today=today)
    as_of, filters = form.as_of_date(), form.filters()
    rows = selectors.aged_receivables(tenant=request.tenant, filters=filters, today=as_of)
    if _wants_export(request):
        return _export(request, title=REPORTS[slug], headers=AGED_HEADERS, name=f"aged-receivables-{as_of}",
                       rows=((r["account__name"], r["account__customer__name"], r["currency"],
                              *(r[key] for key, _ in selectors.AGE_BUCKETS), r["total"])
                             for r in selectors.name_accounts(rows[:EXPORT_LIMIT])))
    page = page_of(request, rows, ROWS_PER_PAGE)
    selectors.name_accounts(page.object_list)
    return render(request, "reports/aged.html", {
        "slug": slug, "title": REPORTS[slug], "form": form, "as_of": as_of, "buckets": selectors.AGE_BUCKETS,
        "page": page, "totals": selectors.aged_totals(rows),
    })


def _requests(request, slug: str):
    today = tenant_today(request.tenant)
    form = ReportForm(request.GET, tenant=request.tenant, today=today)
    del form.fields["segment"]
    period = form.period()
    rows, totals = selectors.pivot_requests(
        selectors.payment_requests_by_staff(tenant=request.tenant, period=period, filters=form.filters())
    )
    statuses = selectors.REQUEST_STATUSES
    if _wants_export(request):
        def line(row):
            cells = [(row.cells.get(s, {}).get("count", 0), row.cells.get(s, {}).get("amount", Decimal("0.00")))
                     for s, _ in statuses]
            return (row.name, row.currency, *[v for pair in cells for v in pair], row.count, row.amount)
        headers = (_("Staff member"), _("Currency"),
                   *[f"{label} {what}" for _status, label in statuses for what in (_("count"), _("amount"))],
                   _("Count"), _("Amount"))
        return _export(request, title=REPORTS[slug], headers=headers, name=f"payment-requests-{period.start}",
                       rows=[line(r) for r in [*rows, *totals]])
    return render(request, "reports/requests.html", {
        "slug": slug, "title": REPORTS[slug], "form": form, "period": period, "statuses": statuses, "rows": rows,
        "totals": totals,
    })


INSTALMENT_HEADERS = (gettext_lazy("Due on"), gettext_lazy("Customer"), gettext_lazy("Obligation"),
                      gettext_lazy("Instalment"), gettext_lazy("Currency"), gettext_lazy("Amount"),
                      gettext_lazy("Overdue"))


def _instalments(request, slug: str):
    today = tenant_today(request.tenant)
    form = ReportForm(request.GET, tenant=request.tenant, today=today)
    del form.fields["segment"]
    period, filters = form.period(), form.filters()
    rows = selectors.instalments_due(tenant=request.tenant, period=period, filters=filters, today=today)
    if _wants_export(request):
        return _export(request, title=REPORTS[slug], headers=INSTALMENT_HEADERS, name=f"instalments-{today}",
                       rows=((i.due_on, i.obligation.customer.name, i.obligation.description, i.number,
                              i.obligation.currency, i.amount, "yes" if i.due_on < today else "")
                             for i in rows[:EXPORT_LIMIT]))
    return render(request, "reports/instalments.html", {
        "slug": slug, "title": REPORTS[slug], "form": form, "period": period, "today": today,
        "page": page_of(request, rows, ROWS_PER_PAGE),
        "totals": selectors.instalment_totals(tenant=request.tenant, period=period, filters=filters, today=today),
    })


def _dunning(request, slug: str):
    today = tenant_today(request.tenant)
    form = ReportForm(request.GET, tenant=request.tenant, today=today)
    for name in ("segment", "customer", "classification", "currency"):
        form.fields.pop(name, None)
    period = form.period()
    return render(request, "reports/dunning.html", {
        "slug": slug, "title": REPORTS[slug], "form": form, "period": period,
        "at_level": receivables_selectors.invoices_at_level(tenant=request.tenant),
        "by_level": receivables_selectors.notices_by_level(tenant=request.tenant, start_at=period.start_at,
                                                            end_at=period.end_at),
        "dso": receivables_selectors.days_sales_outstanding(
            tenant=request.tenant, months=list(reversed(months_back(today=today, count=12)))),
    })


def _recurring(request, slug: str):
    today = tenant_today(request.tenant)
    # Revenue up to the last day of the previous month: a month counts once it is over.
    months = list(reversed(months_back(today=today.replace(day=1) - timedelta(days=1), count=12)))
    return render(request, "reports/recurring.html", {
        "slug": slug, "title": REPORTS[slug], "today": today,
        "mrr": billing_selectors.mrr_movement(tenant=request.tenant, months=months),
        "upcoming": billing_selectors.upcoming_for(tenant=request.tenant, today=today, days=30),
        "collection": billing_selectors.collection_success(tenant=request.tenant, months=months),
    })


VIEWS = {"transactions": _transactions, "documents": _transactions, "revenue": _revenue, "aged": _aged,
         "requests": _requests, "instalments": _instalments, "dunning": _dunning, "recurring": _recurring}


@staff_view
def report(request, slug: str):
    if slug not in VIEWS:
        raise Http404(_("No such report."))
    _check_references(request)
    return VIEWS[slug](request, slug)


# --- the dashboard ----------------------------------------------------------------------------------


def _charts(title: str, groups: list[dict], months: list[date], key: str = "month") -> list[charts.Chart]:
    by_currency: dict[str, dict] = {}
    for group in groups:
        by_currency.setdefault(group["currency"], {})[group[key].date() if isinstance(group[key], datetime)
                                                       else group[key]] = group["amount"]
    return [
        charts.bar_chart(title=title, currency=currency, points=[
            (l10n_month(month), values.get(month, Decimal("0.00")),
             _money(values.get(month, Decimal("0.00")), currency)) for month in months
        ], axis=[l10n_month(month, short=True) for month in months])
        for currency, values in sorted(by_currency.items())
    ]


@staff_view
def dashboard(request):
    tenant, now = request.tenant, timezone.now()
    today = tenant_today(tenant)
    year = selectors.last_twelve_months(tenant=tenant, today=today)
    months = selectors.months_of(year)
    form = ReportForm(request.GET, tenant=tenant, today=today)
    period = form.period()
    products = selectors.rolled_up_revenue_per_product(tenant=tenant, period=period)
    product_charts = []
    for currency in sorted({p["transaction__currency"] for p in products}):
        points = [(p["name"][:14], p["average"], _money(p["average"], currency)) for p in products
                  if p["transaction__currency"] == currency][:12]
        product_charts.append(charts.bar_chart(title=_("Average revenue per product"), currency=currency,
                                               points=points))
    context = {
        **_today(tenant, now=now, today=today),
        "receipt_charts": _charts(_("Receipts"), selectors.rolled_up_receipts_by_month(tenant=tenant, period=year),
                                  months),
        "revenue_charts": _charts(_("Revenue"), selectors.rolled_up_revenue_by_month(tenant=tenant, period=year),
                                  months),
        "product_charts": product_charts, "products": products, "form": form, "period": period,
    }
    return render(request, "reports/dashboard.html", context)


def _today(tenant, *, now: datetime, today: date) -> dict:
    monday = today - timedelta(days=today.weekday())
    return {"counts": selectors.today_counts(tenant=tenant, now=now, today=today), "today": today,
            "week": (monday, monday + timedelta(days=6))}


@staff_view
def home(request):
    """The staff home: today's work, each figure a link to the list it counts."""
    tenant, now = request.tenant, timezone.now()
    today = tenant_today(tenant)
    return render(request, "reports/home.html", {
        **_today(tenant, now=now, today=today),
        "overdue": selectors.overdue_by_bucket(tenant=tenant, today=today),
        "buckets": [(key, label) for key, label in selectors.AGE_BUCKETS if key != "current"],
    })


# --- segments ---------------------------------------------------------------------------------------


@staff_view
def segment_list(request):
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            segment = services.save_segment(
                tenant=request.tenant, name=form.cleaned_data["name"], subject=form.cleaned_data["subject"],
                rules=form.rules(), actor=request.user, at=timezone.now(),
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("Segment “%(segment)s” saved.") % {"segment": segment})
            return redirect("reports:segment_detail", segment_id=segment.pk)
    return render(request, "reports/segment_list.html", {
        "segments": selectors.segments_of(tenant=request.tenant), "form": form,
    })


@staff_view
@require_POST
def segment_statements(request, segment_id: int):
    """Last month's statement of account to every customer the segment reaches (once per account and month)."""
    segment = selectors.get_segment(tenant=request.tenant, segment_id=segment_id)
    today = tenant_today(request.tenant)
    start, end = receivables_selectors.previous_month(today)
    accounts = receivables_selectors.statement_accounts(
        tenant=request.tenant, start=start, end=end,
        customer_ids=selectors.segment_customer_ids(segment=segment, today=today))
    sent, skipped = statements.send_statements(accounts=accounts, start=start, end=end, actor=request.user,
                                               at=timezone.now())
    messages.success(request, _("Statements sent: %(sent)d; already sent or not sendable: %(skipped)d.") % {
        "sent": sent, "skipped": skipped})
    return redirect("reports:segment_detail", segment_id=segment.pk)


@staff_view
def segment_detail(request, segment_id: int):
    segment = selectors.get_segment(tenant=request.tenant, segment_id=segment_id)
    today = tenant_today(request.tenant)
    templates = notification_selectors.available_messages(
        tenant=request.tenant, language=request.tenant.locale,
        provided=["customer.name", "customer.email", "customer.phone", "tenant.name", "tenant.email", "staff.name"],
    )
    message_form = SegmentMessageForm(request.POST or None, templates=templates,
                                      initial={"idempotency_key": secrets.token_urlsafe(16)})
    if request.method == "POST" and message_form.is_valid():
        data = message_form.cleaned_data
        try:
            sent = services.message_segment(
                segment=segment, actor=request.user, channels=data["channels"], template_key=data["template"],
                at=timezone.now(), today=today, idempotency_key=data["idempotency_key"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, ngettext("%(count)d message queued.", "%(count)d messages queued.",
                                               len(sent)) % {"count": len(sent)})
            return redirect("reports:segment_detail", segment_id=segment.pk)
    rows = (selectors.segment_transactions(segment=segment, today=today)
            if segment.subject == SegmentSubject.TRANSACTIONS else None)
    if segment.subject == SegmentSubject.INSTALMENTS:
        instalments = selectors.segment_instalments(segment=segment, today=today)
        if _wants_export(request):
            return _export(request, title=segment.name, headers=INSTALMENT_HEADERS, name=f"segment-{segment.pk}",
                           rows=((i.due_on, i.obligation.customer.name, i.obligation.description, i.number,
                                  i.obligation.currency, i.amount, "yes" if i.due_on < today and not i.is_paid else "")
                                 for i in instalments[:EXPORT_LIMIT]))
        return render(request, "reports/segment_detail.html", {
            "segment": segment, "message_form": message_form, "today": today, "page": None, "customers": None,
            "criteria": SegmentForm.describe(segment.rules or {}),
            "instalments": page_of(request, instalments, ROWS_PER_PAGE),
        })
    if rows is not None and _wants_export(request):
        return _export(request, title=segment.name, headers=TXN_HEADERS, name=f"segment-{segment.pk}",
                       rows=rows.values_list(*TXN_FIELDS)[:EXPORT_LIMIT].iterator(chunk_size=2000))
    customers = None
    if rows is None:
        customers = page_of(request, Customer.objects.filter(
            tenant=request.tenant, pk__in=selectors.segment_customer_ids(segment=segment, today=today)
        ).order_by("name", "pk"), ROWS_PER_PAGE)
    return render(request, "reports/segment_detail.html", {
        "segment": segment, "message_form": message_form, "customers": customers, "instalments": None,
        "page": page_of(request, rows, ROWS_PER_PAGE) if rows is not None else None,
        "criteria": SegmentForm.describe(segment.rules or {}),
        "report_query": _report_query(segment, rows) if rows is not None else "",
    })


def _report_query(segment, rows) -> str:
    """The transactions report's query for a segment: its rows' posting dates as the period, so the
    report opens on them rather than on this month."""
    span = selectors.posting_span(rows=rows, time_zone=segment.tenant.time_zone)
    query = {"segment": segment.pk}
    if span is not None:
        query |= {"start": span[0].isoformat(), "end": span[1].isoformat()}
    return urlencode(query)


@staff_view
@require_POST
def segment_delete(request, segment_id: int):
    segment = selectors.get_segment(tenant=request.tenant, segment_id=segment_id)
    services.delete_segment(segment=segment)
    messages.success(request, _("Segment “%(segment)s” deleted.") % {"segment": segment})
    return redirect("reports:segment_list")
