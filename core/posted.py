"""Reading what a page posted: the form names the fields and trims the text; the service checks the values
(with the messages the API gives too), so a form here never refuses anything itself."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def text() -> forms.CharField:
    """A posted text field, optional, passed on as typed (trimmed) for the service to check."""
    return forms.CharField(required=False)


class PostedForm(forms.Form):
    """A form whose fields are all optional text or ticks: ``read`` gives the cleaned values, a field's empty
    value where what was posted cannot be text at all (a NUL character), which the service then refuses as
    missing."""

    @classmethod
    def read(cls, data) -> dict:
        form = cls(data)
        form.is_valid()
        return {name: form.cleaned_data.get(name, field.to_python(None)) for name, field in form.fields.items()}


def show_errors(form: forms.Form, error: ValidationError, *, renamed: dict[str, str] | None = None) -> None:
    """Show a service's ``ValidationError`` on the form: each message on the field it names (``renamed`` maps
    a service's name to the form's, ``expires_at`` → ``expires_on``), anything else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        name = (renamed or {}).get(name, name)
        form.add_error(name if name in form.fields else None, messages)
