"""Forms parse what a person typed; the rules live in ``notifications.services``."""

from __future__ import annotations

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from notifications import hours
from notifications.models import Channel


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form, beside the field it names when the form has it."""
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class CommunicateForm(forms.Form):
    """The Communicate box of a record's page. ``templates`` are the messages that suit the record."""

    channels = forms.MultipleChoiceField(
        label=_("Send by"), choices=[(Channel.EMAIL, _("Email")), (Channel.SMS, "SMS")],
        widget=forms.CheckboxSelectMultiple, required=False,
    )
    template = forms.ChoiceField(label=_("Template"), required=False)
    subject = forms.CharField(required=False, max_length=300, help_text=_("For email."), label=_("Subject"))
    message = forms.CharField(
        label=_("Your message"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Or write your own. Type # for tags, e.g. #customer.name."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, templates=(), **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        kwargs["initial"].setdefault("channels", [Channel.EMAIL])
        kwargs.setdefault("auto_id", "communicate_%s")  # unique beside the other panels of a page
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", gettext("— write my own —")), *((m.key, m.label) for m in templates)]


class MessageTemplateForm(forms.Form):
    subject = forms.CharField(max_length=300, required=False, label=_("Subject"))
    body = forms.CharField(label=_("Email text"), required=False, widget=forms.Textarea(attrs={"rows": 10}))
    sms = forms.CharField(
        label="SMS text", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Leave empty to send the email text by SMS too."),
    )


class NotificationSettingsForm(forms.Form):
    reply_to_email = forms.CharField(label=_("Reply-to email"), required=False, max_length=254,
                                     widget=forms.EmailInput, help_text=_("Customers' replies go here."))
    logo_url = forms.CharField(label=_("Logo address"), required=False, max_length=200,
                               help_text=_("An https:// address of your logo, shown at the top of emails."))
    sending_start = forms.TimeField(label=_("Send reminders from"), widget=forms.TimeInput(attrs={"type": "time"}))
    sending_end = forms.TimeField(label="until", widget=forms.TimeInput(attrs={"type": "time"}))
    sending_days = forms.TypedMultipleChoiceField(
        label="on", coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        choices=list(enumerate(hours.DAY_NAMES)),
    )
