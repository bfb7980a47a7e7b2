"""Staff pages of the crm app: the customer list and the customer file, and a staff member's own settings."""

from __future__ import annotations

from axes.utils import reset as reset_failed_sign_ins
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _

from core import l10n
from core.pagination import page_of
from crm import selectors, services, two_factor
from crm.access import staff_view
from crm.forms import CustomerForm, LanguageForm

CUSTOMERS_PER_PAGE = 25


def home(request):
    return redirect(settings.LOGIN_REDIRECT_URL)


def favicon(request):
    """What a browser asks for when the page it shows names no icon (a PDF, a JSON answer)."""
    return redirect(static("duly/favicon.svg"), permanent=True)


@staff_view
def customer_list(request):
    query = request.GET.get("q", "").strip()
    page = page_of(request, selectors.search_customers(tenant=request.tenant, query=query), CUSTOMERS_PER_PAGE)
    context = {"page": page, "query": query}
    template = "crm/_customer_rows.html" if request.htmx else "crm/customer_list.html"
    return render(request, template, context)


@staff_view
def customer_create(request):
    form = CustomerForm(request.POST or None, initial={"language": request.tenant.locale})
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.create_customer(tenant=request.tenant, actor=request.user,
                                                data=form.customer_data())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
            return redirect("crm:customer_detail", customer_id=customer.pk)
    return render(request, "crm/customer_form.html", {"form": form, "customer": None})


@staff_view
def customer_detail(request, customer_id: int):
    customer = selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    history = selectors.customer_history(customer=customer)
    return render(request, "crm/customer_detail.html", {"customer": customer, "history": history})


@staff_view
def customer_update(request, customer_id: int):
    customer = selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    initial = {field: getattr(customer, field) for field in services.CUSTOMER_FIELDS}
    initial["phone"] = str(customer.phone) if customer.phone else ""
    initial["country"] = customer.country.code or ""
    form = CustomerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_customer(customer=customer, actor=request.user, changes=form.customer_changes())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("crm:customer_detail", customer_id=customer.pk)
    return render(request, "crm/customer_form.html", {"form": form, "customer": customer})


@staff_view
def my_settings(request):
    """The staff member's own settings: the language Duly speaks to them."""
    form = LanguageForm(request.POST or None, tenant=request.tenant, initial={"language": request.user.language})
    if request.method == "POST" and form.is_valid():
        try:
            services.set_language(user=request.user, language=form.cleaned_data["language"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            with l10n.for_tenant(request.tenant, language=request.user.language or None):
                messages.success(request, _("Your settings are saved."))
            return redirect("crm:my_settings")
    return render(request, "crm/my_settings.html", {
        "form": form, "second_factor": two_factor.has_device(request.user),
        "second_factor_required": two_factor.required(request.user)})


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Django's page that sets the new password, which also clears the account's failed sign-ins: the way
    out of a lockout is a password reset."""

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_failed_sign_ins(username=form.user.get_username())
        return response
