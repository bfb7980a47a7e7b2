"""The Settings area's payment gateways, for the tenant's administrators: connect Stripe, Cashflows,
Credicorp or the sandbox with their keys (kept encrypted, shown masked), choose what each collects for and in
which currencies, and the payment and refund methods it books in the ledger; test the connection."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.posted import show_errors
from crm.access import require_administrator, staff_view
from crm.staff import audit
from finance.models import PaymentMethod, RefundMethod
from gateways import registry
from gateways import services as gateway_services
from gateways.models import GatewayAccount, Provider, Purpose

# The settings each provider's account takes, besides its secret (API key).
SETTING_FIELDS = {
    "publishable_key": gettext_lazy("Publishable key (Stripe's card fields)"),
    "webhook_secret": gettext_lazy("Webhook signing secret (Stripe)"),
    "configuration_id": gettext_lazy("Configuration id (Cashflows)"),
    "base_url": gettext_lazy("Base URL (Credicorp)"),
    "callback_secret": gettext_lazy("Callback secret (Credicorp)"),
}


class GatewayForm(forms.Form):
    provider = forms.ChoiceField(label=gettext_lazy("Provider"), choices=Provider.choices)
    live = forms.BooleanField(label=gettext_lazy("Live (off: the provider's test mode)"), required=False)
    secret = forms.CharField(label=gettext_lazy("Secret (API key)"), required=False,
                             widget=forms.PasswordInput(render_value=False),
                             help_text=gettext_lazy("Kept encrypted. Leave empty to keep the stored one."))
    purposes = forms.MultipleChoiceField(label=gettext_lazy("Collects for"), choices=Purpose.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    currencies = forms.CharField(label=gettext_lazy("Currencies"), required=False, max_length=100,
                                 help_text=gettext_lazy("ISO codes separated by commas, e.g. GBP, EUR; empty: every "
                                                        "currency the provider takes."))
    payment_method = forms.ChoiceField(label=gettext_lazy("Payment method booked"), required=False)
    refund_method = forms.ChoiceField(label=gettext_lazy("Refund method booked"), required=False)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False, initial=True)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in SETTING_FIELDS.items():
            self.fields[name] = forms.CharField(label=label, required=False, max_length=300)
        default = ("", _("Duly's default (Card, Card refund)"))
        self.fields["payment_method"].choices = [default, *((m, m) for m in PaymentMethod.objects.filter(
            tenant=tenant).values_list("name", flat=True))]
        self.fields["refund_method"].choices = [default, *((m, m) for m in RefundMethod.objects.filter(
            tenant=tenant).values_list("name", flat=True))]


@staff_view
def gateway_list(request):
    require_administrator(request)
    accounts = GatewayAccount.objects.filter(tenant=request.tenant).order_by("provider", "live")
    return render(request, "payments/gateway_list.html", {"accounts": [
        (account, request.build_absolute_uri(reverse("gateways:webhook", args=[account.provider,
                                                                             account.webhook_token])))
        for account in accounts]})


@staff_view
def gateway_edit(request, account_id: int | None = None):
    """Connect a provider, or change an account: the same form, a blank secret keeping the stored one."""
    require_administrator(request)
    account = None
    if account_id is not None:
        account = GatewayAccount.objects.filter(tenant=request.tenant, pk=account_id).first()
        if account is None:
            raise Http404(_("No such gateway account."))
    initial = {"purposes": [p.value for p in Purpose], "enabled": True}
    if account is not None:
        initial = {"provider": account.provider, "live": account.live, "purposes": account.purposes,
                   "currencies": ", ".join(account.currencies), "enabled": account.enabled, **account.settings}
    form = GatewayForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        settings = {name: data[name] for name in (*SETTING_FIELDS, "payment_method", "refund_method") if data[name]}
        currencies = [c.strip().upper() for c in data["currencies"].split(",") if c.strip()]
        try:
            saved = gateway_services.save_gateway_account(
                tenant=request.tenant, provider=data["provider"], live=data["live"], secret=data["secret"],
                settings=settings, enabled=data["enabled"], purposes=data["purposes"], currencies=currencies)
        except ValidationError as error:
            show_errors(form, error)
        else:
            audit(tenant=request.tenant, actor=request.user, at=timezone.now(), action="gateway.saved",
                  subject=str(saved), detail=", ".join([*saved.purposes, *saved.currencies]))
            messages.success(request, _("%(account)s is saved.") % {"account": saved})
            return redirect("payments:gateway_list")
    return render(request, "payments/gateway_form.html", {
        "form": form, "account": account, "masked": f"…{account.secret_last4}" if account else "",
        "setting_fields": [form[name] for name in SETTING_FIELDS],
    }, status=422 if form.errors else 200)


@require_POST
@staff_view
def gateway_check(request, account_id: int):
    """One cheap call with the stored credentials: a clear answer for wrong keys or a provider that is down."""
    require_administrator(request)
    account = GatewayAccount.objects.filter(tenant=request.tenant, pk=account_id).first()
    if account is None:
        raise Http404(_("No such gateway account."))
    messages.info(request, registry.check_connection(account=account))
    return redirect("payments:gateway_list")
