"""Staff pages of the notifications app: the in-app inbox and its bell, the outbox with its failed
deliveries, the message templates and sending settings, the Communicate panel of the customer file,
and the development mailbox.

Each page parses its input, makes one service call and renders; objects are reached through
``notifications.selectors``.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from core.pagination import page_of
from crm import selectors as crm_selectors
from crm.access import staff_view
from notifications import defaults, selectors, services, states, tags
from notifications.forms import CommunicateForm, MessageTemplateForm, NotificationSettingsForm, apply_errors

PER_PAGE = 25
MANAGER = "crm.see_manager_comments"
CHANGED = "notifications-changed"  # htmx event: the bell refreshes its count


def manager_view(view):
    """A staff page for managers: message wording and sending settings speak for the whole tenant."""

    @staff_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm(MANAGER):
            raise PermissionDenied(_("Only managers change messages and sending settings."))
        return view(request, *args, **kwargs)

    return wrapper


# --- in-app inbox ------------------------------------------------------------------------------


@staff_view
def bell(request):
    count = selectors.unread_count(tenant=request.tenant, user=request.user)
    return render(request, "notifications/_bell.html", {"unread": count})


@staff_view
def inbox(request):
    page = page_of(request, selectors.inbox(tenant=request.tenant, user=request.user), PER_PAGE)
    return render(request, "notifications/notification_list.html", {"page": page})


@staff_view
@require_POST
def mark_read(request, notification_id: int):
    notification = selectors.get_inbox_notification(tenant=request.tenant, user=request.user,
                                                    notification_id=notification_id)
    services.mark_read(notification=notification, user=request.user, at=timezone.now())
    if request.htmx:
        # The new bell travels with the row (an out-of-band swap), so the count can never lag behind
        # a bell refresh that was already under way.
        unread = selectors.unread_count(tenant=request.tenant, user=request.user)
        row = render_to_string("notifications/_notification_row.html", {"notification": notification}, request)
        bell = render_to_string("notifications/_bell.html", {"unread": unread, "oob": True}, request)
        response = HttpResponse(row + bell)
        response["HX-Trigger"] = CHANGED
        return response
    return redirect("notifications:inbox")


@staff_view
@require_POST
def mark_all_read(request):
    count = services.mark_all_read(tenant=request.tenant, user=request.user, at=timezone.now())
    messages.success(request, ngettext("%(count)s notification marked as read.",
                                       "%(count)s notifications marked as read.", count) % {"count": count})
    return redirect("notifications:inbox")


# --- outbox ------------------------------------------------------------------------------------


@staff_view
def outbox(request):
    state = request.GET.get("state", "")
    if state not in dict(states.CHOICES):
        state = ""
    page = page_of(request, selectors.outbox(tenant=request.tenant, state=state), PER_PAGE)
    return render(request, "notifications/outbox_list.html",
                  {"page": page, "state": state, "state_choices": states.CHOICES})


@staff_view
@require_POST
def outbox_retry(request, notification_id: int):
    notification = selectors.get_notification(tenant=request.tenant, notification_id=notification_id)
    try:
        services.retry_notification(notification=notification, actor=request.user, at=timezone.now())
    except states.InvalidTransition as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The message to %(recipient)s will be sent again.") % {
            "recipient": notification.recipient})
    return redirect(request.POST.get("next") or reverse("notifications:outbox") + "?state=failed")


# --- message templates and settings ------------------------------------------------------------


@manager_view
def template_list(request):
    return render(request, "notifications/template_list.html", {
        "overview": selectors.template_overview(tenant=request.tenant), "languages": settings.CUSTOMER_LANGUAGES,
    })


@manager_view
def template_edit(request, key: str, language: str):
    template = selectors.get_message_template(tenant=request.tenant, key=key, language=language)
    default = defaults.get(key)
    source = template or default
    form = MessageTemplateForm(request.POST or None,
                               initial={"subject": source.subject, "body": source.body, "sms": source.sms})
    preview = None
    action = request.POST.get("action", "save")
    if request.method == "POST" and action == "reset":
        services.reset_message_template(tenant=request.tenant, key=key, language=language)
        messages.success(request, _("“%(label)s” (%(language)s) uses Duly's wording again.") % {
            "label": default.label, "language": language})
        return redirect("notifications:template_list")
    if request.method == "POST" and form.is_valid():
        try:
            if action == "preview":
                preview = services.preview_message(key=key, **form.cleaned_data)
            else:
                services.save_message_template(tenant=request.tenant, actor=request.user, key=key, language=language,
                                               at=timezone.now(), **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if action != "preview":
                messages.success(request, f"“{default.label}” ({language}) saved.")
                return redirect("notifications:template_list")
    context = {"form": form, "message": default, "language": language, "customised": template is not None,
               "preview": preview, "allowed": [tags.VOCABULARY[name] for name in default.allowed_tags]}
    # A preview re-renders the whole editor (htmx selects it), so the errors of a bad try go with it.
    return render(request, "notifications/template_form.html", context)


@manager_view
def settings_edit(request):
    options = selectors.get_notification_settings(tenant=request.tenant)
    form = NotificationSettingsForm(request.POST or None, initial={
        "reply_to_email": options.reply_to_email, "logo_url": options.logo_url,
        "sending_start": options.sending_start, "sending_end": options.sending_end,
        "sending_days": list(options.sending_days),
    })
    if request.method == "POST" and form.is_valid():
        try:
            services.update_notification_settings(tenant=request.tenant, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("notifications:settings")
    return render(request, "notifications/settings_form.html", {"form": form, "time_zone": request.tenant.time_zone})


# --- Communicate on the customer file ----------------------------------------------------------


CUSTOMER_TAGS = ("customer.name", "customer.email", "customer.phone", "tenant.name", "tenant.email", "staff.name")


@staff_view
def customer_communicate(request, customer_id: int):
    """The Communicate panel of a customer file: the message box and what was sent (an htmx fragment)."""
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    subject_ref = f"crm.customer:{customer.pk}"
    templates = selectors.available_messages(tenant=request.tenant, language=customer.language,
                                             provided=CUSTOMER_TAGS)
    form = CommunicateForm(request.POST or None, templates=templates)
    sent_now = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.communicate(
                tenant=request.tenant, actor=request.user, customer=customer, subject_ref=subject_ref,
                channels=data["channels"], template_key=data["template"], subject=data["subject"],
                message=data["message"], idempotency_key=data["idempotency_key"], at=timezone.now(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            sent_now = True
            form = CommunicateForm(templates=templates)
    context = {
        "customer": customer, "form": form, "sent_now": sent_now,
        "communicate_url": reverse("notifications:customer_communicate", args=[customer.pk]),
        "sent": selectors.sent_to(tenant=request.tenant, customer_id=customer.pk)[:20],
    }
    return render(request, "notifications/_customer_panel.html", context)


# --- development mailbox -----------------------------------------------------------------------


def dev_only(view):
    @staff_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.DULY_DEV_TOOLS:
            raise Http404(_("The development mailbox is off."))
        return view(request, *args, **kwargs)

    return wrapper


@dev_only
def dev_mailbox(request):
    emails, texts = selectors.dev_mailbox(tenant=request.tenant)
    return render(request, "notifications/dev_mailbox.html", {"emails": emails[:100], "texts": texts[:100]})


# The email is shown in a sandboxed srcdoc iframe, which inherits this page's policy: an email's own
# inline styles and remote logo must load there (no scripts: the sandbox has no allow-scripts).
@csp_override(settings.SECURE_CSP | {"style-src": [CSP.SELF, CSP.UNSAFE_INLINE], "img-src": ["*", "data:"]})
@dev_only
def dev_mail_detail(request, mail_id: int):
    mail = selectors.get_dev_mail(tenant=request.tenant, mail_id=mail_id)
    return render(request, "notifications/dev_mail_detail.html", {"mail": mail})
