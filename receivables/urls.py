"""Staff pages of receivables, under ``/finance/receivables/``."""

from django.urls import path

from receivables.views import dunning, statements

app_name = "receivables"
urlpatterns = [
    path("dunning/", dunning.dunning_settings, name="dunning_settings"),
    path("dunning/levels/new/", dunning.level_edit, name="level_create"),
    path("dunning/levels/suggested/", dunning.levels_suggested, name="levels_suggested"),
    path("dunning/levels/<int:level_id>/", dunning.level_edit, name="level_edit"),
    path("dunning/levels/<int:level_id>/delete/", dunning.level_delete, name="level_delete"),
    path("invoices/<int:invoice_id>/dunning/", dunning.invoice_panel, name="invoice_panel"),
    path("invoices/<int:invoice_id>/hold/", dunning.invoice_hold, name="invoice_hold"),
    path("invoices/<int:invoice_id>/release/", dunning.invoice_release, name="invoice_release"),
    path("notices/<int:notice_id>/waive/", dunning.notice_waive, name="notice_waive"),
    path("accounts/<int:account_id>/statement/", statements.account_statement, name="account_statement"),
    path("accounts/<int:account_id>/statement/send/", statements.account_statement_send,
         name="account_statement_send"),
]
