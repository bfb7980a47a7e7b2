"""The Settings area's staff pages, for the tenant's administrators: who works here, with which roles;
invitations; deactivation; the audit log. And the public page where an invited person sets a password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.posted import show_errors
from crm import staff as staff_services
from crm.access import ADMINISTER, require_administrator, staff_view
from crm.forms import InviteForm, OrganisationForm, RolesForm
from crm.models import AuditEntry, Role, User
from crm.organisation import update_organisation

AUDIT_ROWS = 200



def _site(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _member(request, user_id: int) -> User:
    """One of the tenant's staff; 404 for anybody else's."""
    user = User.objects.filter(tenant=request.tenant, pk=user_id).prefetch_related("groups__role").first()
    if user is None:
        raise Http404(_("No such member of staff."))
    return user


@staff_view
def settings_index(request):
    """The settings of the organisation, each area shown to whoever may change it."""
    return render(request, "crm/settings_index.html", {
        "administrator": request.user.has_perm(ADMINISTER),
        "accountant": request.user.has_perm("crm.post_transactions"),
        "manager": request.user.has_perm("crm.see_manager_comments"),
    })


@staff_view
def staff_list(request):
    require_administrator(request)
    members = [(user, staff_services.role_keys(user), staff_services.status(user))
               for user in staff_services.staff_of(request.tenant)]
    return render(request, "crm/staff_list.html", {
        "members": [(user, [Role.NAMES[key] for key in keys], status, staff_services.STATUS_NAMES[status])
                    for user, keys, status in members],
    })


@staff_view
def staff_invite(request):
    require_administrator(request)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_services.invite(tenant=request.tenant, actor=request.user, data=form.invitation(),
                                         at=timezone.now(), site=_site(request))
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("The invitation is on its way to %(email)s.") % {"email": user.email})
            return redirect("crm:staff_list")
    return render(request, "crm/staff_invite.html", {"form": form, "allows": _allows()}, status=422 if form.errors
                  else 200)


def _allows():
    return [(Role.NAMES[key], Role.ALLOWS[key]) for key, _ in Role.KEYS]


@staff_view
def staff_detail(request, user_id: int):
    require_administrator(request)
    member = _member(request, user_id)
    form = RolesForm(initial={"roles": staff_services.role_keys(member)})
    return _detail(request, member, form)


def _detail(request, member: User, form: RolesForm, status: int = 200):
    entries = AuditEntry.objects.filter(tenant=request.tenant, subject__in=[member.email, member.username])
    state = staff_services.status(member)
    return render(request, "crm/staff_detail.html", {
        "member": member, "form": form, "status": state, "status_name": staff_services.STATUS_NAMES[state],
        "allows": _allows(), "entries": entries.select_related("actor")[:AUDIT_ROWS],
        "actions": staff_services.ACTIONS, "myself": member.pk == request.user.pk,
    }, status=status)


@require_POST
@staff_view
def staff_roles(request, user_id: int):
    require_administrator(request)
    member = _member(request, user_id)
    form = RolesForm(request.POST)
    if form.is_valid():
        try:
            staff_services.change_roles(user=member, actor=request.user, keys=form.cleaned_data["roles"],
                                        at=timezone.now())
        except ValidationError as error:
            form.add_error("roles", error.message_dict.get("roles", error.messages))
        else:
            messages.success(request, _("The roles of %(name)s are saved.") % {"name": _name(member)})
            return redirect("crm:staff_detail", user_id=member.pk)
    return _detail(request, member, form, status=422)


def _name(user: User) -> str:
    return user.get_full_name() or user.email or user.username


def _change(request, user_id: int, change, done: str):
    require_administrator(request)
    member = _member(request, user_id)
    try:
        change(member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done % {"name": _name(member)})
    return redirect("crm:staff_detail", user_id=member.pk)


@require_POST
@staff_view
def staff_deactivate(request, user_id: int):
    return _change(request, user_id, lambda member: staff_services.deactivate(
        user=member, actor=request.user, at=timezone.now()), _("%(name)s is deactivated: their sessions have ended."))


@require_POST
@staff_view
def staff_reactivate(request, user_id: int):
    return _change(request, user_id, lambda member: staff_services.reactivate(
        user=member, actor=request.user, at=timezone.now()), _("%(name)s can sign in again."))


@require_POST
@staff_view
def staff_resend(request, user_id: int):
    return _change(request, user_id, lambda member: staff_services.resend_invitation(
        user=member, actor=request.user, at=timezone.now(), site=_site(request)),
        _("A new invitation is on its way to %(name)s."))


@staff_view
def audit_log(request):
    require_administrator(request)
    entries = AuditEntry.objects.filter(tenant=request.tenant).select_related("actor")[:AUDIT_ROWS]
    return render(request, "crm/audit_log.html", {"entries": entries, "actions": staff_services.ACTIONS})


def invitation(request, uidb64: str, token: str):
    """Where an invited person chooses a password: the link works once, for a few days."""
    user = staff_services.invited_user(uidb64, token)
    if user is None:
        return render(request, "registration/invitation_invalid.html", status=404)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        staff_services.accept_invitation(user=user, password=form.cleaned_data["new_password1"], at=timezone.now())
        messages.success(request, _("Your password is set: sign in with your email address and your new password."))
        return redirect("login")
    return render(request, "registration/invitation_accept.html", {"form": form, "invited": user},
                  status=422 if form.errors else 200)


@staff_view
def organisation(request):
    """The organisation's details, and whether all staff must use a second factor."""
    require_administrator(request)
    tenant = request.tenant
    form = OrganisationForm(request.POST or None, request.FILES or None, initial={
        name: getattr(tenant, name) for name in ("name", "address", "time_zone", "locale", "require_two_factor")
    } | {"country": str(tenant.country)})
    if request.method == "POST" and form.is_valid():
        try:
            update_organisation(tenant=tenant, actor=request.user, data=form.organisation_data(), at=timezone.now())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("The organisation's details are saved."))
            return redirect("crm:organisation")
    return render(request, "crm/organisation.html", {"form": form, "tenant": tenant},
                  status=422 if form.errors else 200)
