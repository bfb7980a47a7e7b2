"""The payer's pages: the hosted payment page and the embedded card fields."""

from __future__ import annotations

import re
from datetime import date
from functools import wraps

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scopes_disabled

from gateways.base import from_minor_units
from sandbox.checkouts import (
    NOT_PAYABLE,
    TEST_CARD_LIST,
    TEST_CARDS,
    cancel_checkout,
    expire_if_due,
    pay_checkout,
    public_checkout,
    settle_checkout,
)
from sandbox.models import SandboxCheckout, SandboxStatus

# --- the payer's pages ------------------------------------------------------------------------------------

_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2})\s*")


class CardForm(forms.Form):
    number = forms.CharField(label="Card number", max_length=30,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}))
    expiry = forms.CharField(label="Expiry (MM/YY)", max_length=7,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY"}))
    cvc = forms.CharField(label="CVC", max_length=4,
                          widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}))
    name = forms.CharField(label="Name on card", max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "cc-name"}))

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["number"])
        if number not in TEST_CARDS:
            raise ValidationError(
                "Use a sandbox test card: 4242 4242 4242 4242 (succeeds), 4000 0000 0000 0002 (declined) or "
                "4000 0000 0000 0077 (stays processing).")
        return number

    def clean_expiry(self) -> tuple[int, int]:
        match = _EXPIRY.fullmatch(self.cleaned_data["expiry"])
        if not match or not 1 <= int(match[1]) <= 12:
            raise ValidationError("Enter the expiry as MM/YY, for example 12/30.")
        month, year = int(match[1]), 2000 + int(match[2])
        if (year, month) < (self.today.year, self.today.month):
            raise ValidationError("The card has expired.")
        return month, year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not re.fullmatch(r"\d{3,4}", cvc):
            raise ValidationError("Enter the 3 or 4 digit security code.")
        return cvc


def _payer_page(view):
    """A page the payer sees: its URL (the capability to pay) is never sent to another site, and nothing is
    cached. ``same-origin`` rather than ``no-referrer``: under ``no-referrer`` browsers send ``Origin: null``
    with the card form's POST, which CSRF protection rightly refuses."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with scopes_disabled():
            response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        response["Cache-Control"] = "no-store"
        return response

    return wrapped


def _amount(minor: int, currency: str) -> str:
    return f"{from_minor_units(minor, currency)} {currency}"


def _render_pay(request: HttpRequest, checkout: SandboxCheckout, *, form: CardForm | None = None,
                failure: str = "", status: int = 200) -> HttpResponse:
    payable = checkout.status == SandboxStatus.PENDING
    return render(request, "sandbox/pay.html", {
        "checkout": checkout,
        "amount": _amount(checkout.amount_minor, checkout.currency),
        "instalment": _amount(-(-checkout.amount_minor // 4), checkout.currency) if checkout.pay_in_4 else "",
        "payable": payable,
        "form": form if form is not None else CardForm(today=timezone.now().date()),
        "failure": failure,
        "message": "" if payable else NOT_PAYABLE[checkout.status],
        "test_cards": TEST_CARD_LIST,
    }, status=status)


@_payer_page
def pay(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The hosted payment page: ``GET`` shows it, ``POST`` pays with a test card."""
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    now = timezone.now()
    checkout = expire_if_due(checkout=public_checkout(id=checkout_id), at=now)
    if request.method == "GET":
        return _render_pay(request, checkout)
    if checkout.status != SandboxStatus.PENDING:
        return _render_pay(request, checkout, status=409)
    form = CardForm(request.POST, today=now.date())
    if not form.is_valid():
        return _render_pay(request, checkout, form=form)
    outcome = pay_checkout(checkout_id=checkout.id, card_number=form.cleaned_data["number"], at=now,
                           expiry=form.cleaned_data["expiry"])
    checkout.refresh_from_db()
    if outcome.status in (SandboxStatus.SUCCEEDED, SandboxStatus.PROCESSING) and outcome.charged:
        return HttpResponseRedirect(checkout.return_url)
    if outcome.charged:  # declined: the checkout stays payable
        return _render_pay(request, checkout, failure=outcome.message)
    return _render_pay(request, checkout, status=409)


@_payer_page
@require_POST
def pay_settle(request: HttpRequest, checkout_id: str) -> HttpResponse:
    """The bank's later answer to a processing payment, played by whoever demonstrates the product."""
    checkout = public_checkout(id=checkout_id)
    outcome = settle_checkout(checkout_id=checkout.id, succeed=request.POST.get("outcome") != "failed",
                              at=timezone.now())
    if not outcome.charged:
        checkout.refresh_from_db()
        return _render_pay(request, checkout, failure=outcome.message, status=409)
    return HttpResponseRedirect(reverse("sandbox:pay", args=[checkout.id]))


@_payer_page
@require_POST
def pay_cancel(request: HttpRequest, checkout_id: str) -> HttpResponse:
    checkout = public_checkout(id=checkout_id)
    outcome = cancel_checkout(checkout_id=checkout.id, at=timezone.now())
    checkout.refresh_from_db()
    if not outcome.charged:
        return _render_pay(request, checkout, status=409)
    return HttpResponseRedirect(checkout.cancel_url or checkout.return_url)


@xframe_options_sameorigin
@_payer_page
@require_GET
def fields(request: HttpRequest, client_token: str) -> HttpResponse:
    """The embedded card fields, meant for an ``<iframe>`` on the payment page."""
    checkout = expire_if_due(checkout=public_checkout(client_token=client_token), at=timezone.now())
    payable = checkout.status == SandboxStatus.PENDING
    return render(request, "sandbox/fields.html", {
        "checkout": checkout,
        "amount": _amount(checkout.amount_minor, checkout.currency),
        "payable": payable,
        "message": "" if payable else NOT_PAYABLE[checkout.status],
        "form": CardForm(today=timezone.now().date()),
        "test_cards": TEST_CARD_LIST,
    })


@xframe_options_sameorigin
@_payer_page
@require_POST
def fields_confirm(request: HttpRequest, client_token: str) -> HttpResponse:
    """The card fields' submit (``static/gateways/sandbox-fields.js``): JSON the script shows or passes on."""
    now = timezone.now()
    checkout = expire_if_due(checkout=public_checkout(client_token=client_token), at=now)
    if checkout.status != SandboxStatus.PENDING:
        return JsonResponse({"status": checkout.status, "checkout": checkout.id,
                             "message": NOT_PAYABLE[checkout.status]}, status=409)
    form = CardForm(request.POST, today=now.date())
    if not form.is_valid():
        errors = {name: [f"{form.fields[name].label}: {error}" for error in messages]
                  for name, messages in form.errors.items()}
        return JsonResponse({"status": "invalid", "errors": errors}, status=400)
    outcome = pay_checkout(checkout_id=checkout.id, card_number=form.cleaned_data["number"], at=now,
                           expiry=form.cleaned_data["expiry"])
    return JsonResponse({"status": outcome.status, "checkout": checkout.id, "message": outcome.message},
                        status=200 if outcome.charged else 409)
