"""``described``: a form field's control tied to its help text and its errors, so a screen reader reads them
with it (``aria-describedby``) and knows it is invalid (``aria-invalid``). Built in: no ``{% load %}``."""

from django import template

register = template.Library()


@register.filter
def described(field):
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    attrs = {"aria-describedby": " ".join(ids)} if ids else {}
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)
