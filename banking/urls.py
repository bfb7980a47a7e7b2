from django.urls import path

from banking import views

app_name = "banking"
urlpatterns = [
    path("", views.bank_home, name="home"),
    path("accounts/new/", views.bank_account_edit, name="bank_account_create"),
    path("accounts/<int:bank_account_id>/", views.bank_account_lines, name="bank_account_lines"),
    path("accounts/<int:bank_account_id>/edit/", views.bank_account_edit, name="bank_account_update"),
    path("import/", views.statement_import, name="statement_import"),
    path("imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("lines/<int:line_id>/", views.line_detail, name="line_detail"),
    path("lines/<int:line_id>/confirm/", views.line_confirm, name="line_confirm"),
    path("lines/<int:line_id>/move/", views.line_move, name="line_move"),
    path("lines/<int:line_id>/split/", views.line_split, name="line_split"),
    path("refunds/", views.refund_runs, name="refund_runs"),
    path("refunds/propose/", views.refund_propose, name="refund_propose"),
    path("refunds/<int:run_id>/", views.refund_run_detail, name="refund_run_detail"),
    path("refunds/<int:run_id>/approve/", views.refund_run_approve, name="refund_run_approve"),
    path("refunds/<int:run_id>/pain001.xml", views.refund_file, name="refund_file"),
]
