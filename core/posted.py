"""Reading what a page posted: the form names the fields and trims the text; the service checks the values
(with the messages the API gives too), so a form here never refuses anything itself."""

from __future__ import annotations

from django import forms


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
