"""Setting up, giving and turning off the second factor at sign-in (see ``crm.two_factor``)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token

from crm import two_factor


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=20,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
                           help_text=gettext_lazy("The six digits your authenticator app shows, or a recovery code."))


def _home(request) -> str:
    return resolve_url("admin:index" if request.user.is_support else settings.LOGIN_REDIRECT_URL)


@login_required
def setup(request):
    """Scan the code, type what the app shows: the second factor is on, and the recovery codes are shown once."""
    if two_factor.has_device(request.user):
        return redirect(_home(request))
    device = two_factor.pending_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm(user=request.user, device=device, code=form.cleaned_data["code"],
                                   at=timezone.now())
        if codes is not None:
            otp_login(request, device)
            return render(request, "registration/two_factor_codes.html", {"codes": codes, "home": _home(request)})
        form.add_error("code", _("That code is not the one the app shows now. Try the next one."))
    return render(request, "registration/two_factor_setup.html", {
        "form": form, "qr_code": two_factor.qr_code_svg(device), "secret": two_factor.secret_in_base32(device),
        "required": two_factor.required(request.user),
    }, status=422 if form.errors else 200)


@login_required
def verify(request):
    """The second step of signing in: a code from the app, or one of the recovery codes (each works once)."""
    wanted = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        wanted = ""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["code"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(wanted or _home(request))
        form.add_error("code", _("That code is not right. Try the one the app shows now, or a recovery code."))
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": wanted},
                  status=422 if form.errors else 200)


@require_POST
@login_required
def turn_off(request):
    if two_factor.required(request.user):
        messages.error(request, _("Your organisation requires a second factor: it stays on."))
    else:
        two_factor.turn_off(user=request.user, at=timezone.now())
        messages.success(request, _("The second factor is off: you sign in with your password alone."))
    return redirect("crm:my_settings")
