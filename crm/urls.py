from django.urls import path

from crm import views

app_name = "crm"
urlpatterns = [
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:customer_id>/edit/", views.customer_update, name="customer_update"),
    path("me/", views.my_settings, name="my_settings"),
    path("me/two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("me/two-factor/off/", views.two_factor_off, name="two_factor_off"),
    path("settings/", views.settings_index, name="settings_index"),
    path("settings/staff/", views.staff_list, name="staff_list"),
    path("settings/staff/invite/", views.staff_invite, name="staff_invite"),
    path("settings/staff/<int:user_id>/", views.staff_detail, name="staff_detail"),
    path("settings/staff/<int:user_id>/roles/", views.staff_roles, name="staff_roles"),
    path("settings/staff/<int:user_id>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("settings/staff/<int:user_id>/reactivate/", views.staff_reactivate, name="staff_reactivate"),
    path("settings/staff/<int:user_id>/resend/", views.staff_resend, name="staff_resend"),
    path("settings/audit/", views.audit_log, name="audit_log"),
    path("settings/organisation/", views.organisation, name="organisation"),
    path("settings/api-keys/", views.api_key_list, name="api_key_list"),
    path("settings/api-keys/new/", views.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("invitation/<uidb64>/<token>/", views.invitation, name="invitation"),
]
