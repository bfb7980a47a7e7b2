"""Staff pages of obligations, under ``/payments/``."""

from django.urls import path

from obligations.views import obligations

app_name = "obligations"
urlpatterns = [
    path("customers/<int:customer_id>/obligations/", obligations.obligations_panel, name="obligations_panel"),
    path("customers/<int:customer_id>/obligations/new/", obligations.obligation_create, name="obligation_create"),
    path("obligations/", obligations.obligation_list, name="obligation_list"),
    path("obligations/calendar/", obligations.obligation_calendar, name="obligation_calendar"),
    path("obligations/settings/", obligations.obligation_settings, name="obligation_settings"),
    path("obligations/<int:obligation_id>/", obligations.obligation_detail, name="obligation_detail"),
    path("obligations/<int:obligation_id>/edit/", obligations.obligation_edit, name="obligation_edit"),
    path("instalments/<int:instalment_id>/edit/", obligations.instalment_edit, name="instalment_edit"),
    path("instalments/<int:instalment_id>/mark-paid/", obligations.instalment_mark_paid,
         name="instalment_mark_paid"),
]
