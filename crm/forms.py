"""Forms parse what a person typed; the rules themselves live in ``crm.services``."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from crm.models import API_SCOPES, TIME_ZONE_CHOICES, Role
from crm.organisation import OrganisationData
from crm.services import CustomerChanges, CustomerData, staff_languages
from crm.staff import Invitation


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    email = forms.CharField(required=False, max_length=254, widget=forms.EmailInput, label=_("Email"))
    phone = forms.CharField(required=False, max_length=40, help_text=_("International form, e.g. +44 20 7946 0958."),
                            label=_("Phone"))
    address_line1 = forms.CharField(label=_("Address"), required=False, max_length=200)
    address_line2 = forms.CharField(label=_("Address (line 2)"), required=False, max_length=200)
    city = forms.CharField(required=False, max_length=100, label=_("City"))
    postcode = forms.CharField(required=False, max_length=20, label=_("Postcode"))
    country = forms.ChoiceField(required=False, choices=lambda: [("", "—"), *countries],
                                label=_("Country"))  # named and sorted in the active language
    language = forms.ChoiceField(choices=settings.CUSTOMER_LANGUAGES, label=_("Language"))
    iban = forms.CharField(required=False, max_length=42, label=_("IBAN"),
                           help_text=_("For refunds by bank transfer; also recognises their transfers."))
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Notes"))

    def customer_data(self) -> CustomerData:
        return CustomerData(**self.cleaned_data)

    def customer_changes(self) -> CustomerChanges:
        """Every field of the form, as the page shows them all."""
        return CustomerChanges(**self.cleaned_data)


class LanguageForm(forms.Form):
    """The language a staff member reads Duly in: their own, or the tenant's."""

    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        tenants = staff_languages().get(tenant.locale, tenant.locale)
        self.fields["language"].choices = [("", _("The organisation's (%(language)s)") % {"language": tenants}),
                                           *staff_languages().items()]


def role_choices() -> list[tuple[str, str]]:
    return [(key, Role.NAMES[key]) for key, _ in Role.KEYS]


class InviteForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput)
    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=role_choices, required=False,
                                      widget=forms.CheckboxSelectMultiple, initial=[Role.STAFF])

    def invitation(self) -> Invitation:
        data = self.cleaned_data
        return Invitation(email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
                          role_keys=tuple(data["roles"]))


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=role_choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What uses it, e.g. the accounting sync."))
    scopes = forms.MultipleChoiceField(label=_("Scopes"), choices=[(scope, scope) for scope in API_SCOPES],
                                       required=False, widget=forms.CheckboxSelectMultiple)
    expires_on = forms.DateField(label=_("Works until"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text=_("The last day it works; empty: until it is revoked."))


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    address = forms.CharField(label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Postal address, printed on documents."))
    country = forms.ChoiceField(label=_("Country"), choices=lambda: list(countries))
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES)
    locale = forms.ChoiceField(label=_("Language"), choices=lambda: list(staff_languages().items()),
                               help_text=_("Of the staff pages, and of customers who have no language of their own."))
    require_two_factor = forms.BooleanField(label=_("Every member of staff signs in with a second factor"),
                                            required=False)
    logo = forms.FileField(label=_("Logo"), required=False, help_text=_("PNG, JPEG or SVG, at most 256 KB."))
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def organisation_data(self) -> OrganisationData:
        data = self.cleaned_data
        upload = data.get("logo")
        return OrganisationData(
            name=data["name"], address=data["address"], country=data["country"], time_zone=data["time_zone"],
            locale=data["locale"], require_two_factor=data["require_two_factor"],
            logo=upload.read() if upload else None, remove_logo=data["remove_logo"])
