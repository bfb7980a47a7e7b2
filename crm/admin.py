"""The Django admin is for platform support: tenants, their staff and roles, and API keys."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope
from simple_history.admin import SimpleHistoryAdmin

from crm import services, staff
from crm.models import ApiKey, Customer, Role, Tenant, User


class TenantForm(forms.ModelForm):
    logo_file = forms.FileField(required=False, label="Logo", help_text="PNG, JPEG or SVG, at most 256 KB.")
    remove_logo = forms.BooleanField(required=False)
    invite_administrator = forms.EmailField(
        required=False, label="Invite an administrator",
        help_text="Emails this address a link to join the tenant as its administrator, who then runs its staff, "
                  "keys and gateways in Duly's own Settings.")

    class Meta:
        model = Tenant
        fields = ["name", "slug", "country", "time_zone", "default_currency", "locale", "address"]

    def clean_logo_file(self):
        upload = self.cleaned_data.get("logo_file")
        if upload is None:
            return None
        data = upload.read()
        try:
            services.logo_type_of(data)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["logo"]) from None
        return data


@admin.register(Tenant)
class TenantAdmin(SimpleHistoryAdmin):
    form = TenantForm
    list_display = ["name", "slug", "country", "default_currency", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            self._save_logo(obj, form)
            return
        # New tenants go through the service so they get their default roles.
        created = services.create_tenant(
            name=obj.name, slug=obj.slug, country=str(obj.country), time_zone=obj.time_zone,
            default_currency=obj.default_currency, locale=obj.locale,
        )
        obj.pk = created.pk
        if obj.address:
            Tenant.objects.filter(pk=created.pk).update(address=obj.address)
        self._save_logo(created, form)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        email = form.cleaned_data.get("invite_administrator")
        if email:
            tenant = Tenant.objects.get(pk=form.instance.pk)
            with scope(tenant=tenant):
                staff.invite(tenant=tenant, actor=request.user, at=timezone.now(),
                             site=f"{request.scheme}://{request.get_host()}",
                             data=staff.Invitation(email=email, role_keys=(Role.STAFF, Role.ADMINISTRATOR)))
            messages.success(request, f"An invitation to administer {tenant} is on its way to {email}.")

    @staticmethod
    def _save_logo(tenant, form):
        if form.cleaned_data.get("remove_logo"):
            services.set_tenant_logo(tenant=tenant, data=None)
        elif form.cleaned_data.get("logo_file"):
            services.set_tenant_logo(tenant=tenant, data=form.cleaned_data["logo_file"])


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["tenant", "key", "group"]
    list_filter = ["tenant"]
    readonly_fields = ["tenant", "key", "group"]

    def has_add_permission(self, request):
        return False


class DulyUserCreationForm(forms.ModelForm):
    password = forms.CharField(widget=forms.PasswordInput, help_text="The user changes it after logging in.")

    class Meta:
        model = User
        fields = ["username", "email", "first_name", "last_name", "tenant"]

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


@admin.register(User)
class DulyUserAdmin(UserAdmin):
    add_form = DulyUserCreationForm
    add_fieldsets = [(None, {"fields": ["username", "email", "first_name", "last_name", "tenant", "password"]})]
    fieldsets = [
        *UserAdmin.fieldsets,
        ("Tenant", {"fields": ["tenant"]}),
    ]
    list_display = ["username", "email", "tenant", "is_active", "is_staff"]
    list_filter = ["tenant", "is_active", "is_staff"]
    list_select_related = ["tenant"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "groups" in form.base_fields:
            # A user may only hold roles of their own tenant.
            form.base_fields["groups"].queryset = form.base_fields["groups"].queryset.filter(role__tenant=obj.tenant_id)
        return form


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "tenant", "email", "phone", "city"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
    search_fields = ["name", "email"]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["tenant", "name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["tenant", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            created, raw_key = services.create_api_key(tenant=obj.tenant, name=obj.name)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return
        obj.pk = created.pk
        messages.warning(request, f"The API key is {raw_key} — copy it now: it will not be shown again.")

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request, queryset):
        now = timezone.now()
        for api_key in queryset:
            services.revoke_api_key(api_key=api_key, at=now)
        messages.success(request, f"Revoked {queryset.count()} API key(s).")
