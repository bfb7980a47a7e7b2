from django.urls import path

from payments import views
from payments.views import obligations

app_name = "payments"
urlpatterns = [
    path("customers/<int:customer_id>/fees/", views.fees_panel, name="fees_panel"),
    path("fees/<int:invoice_id>/take/", views.take_payment, name="take_payment"),
    path("<int:payment_id>/status/", views.payment_status, name="payment_status"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/<int:request_id>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<int:request_id>/resend/", views.request_resend, name="request_resend"),
    path("requests/<int:request_id>/consolidate/", views.request_consolidate, name="request_consolidate"),
    path("customers/<int:customer_id>/requests/", views.customer_panel, name="customer_panel"),
    path("invoices/<int:invoice_id>/email-pay/", views.invoice_pay_panel, name="invoice_pay_panel"),
    path("invoices/<int:invoice_id>/email-pay/send/", views.invoice_pay_send, name="invoice_pay_send"),
    path("customers/<int:customer_id>/requests/new/", views.request_create, name="request_create"),
    path("invoices/<int:invoice_id>/requests/", views.invoice_request_panel, name="invoice_request_panel"),
    path("invoices/<int:invoice_id>/requests/new/", views.invoice_request_create, name="invoice_request_create"),
    path("", views.payment_list, name="payment_list"),
    path("<int:payment_id>/", views.payment_detail, name="payment_detail"),
    path("<int:payment_id>/confirm/", views.payment_confirm, name="payment_confirm"),
    path("<int:payment_id>/refunds/", views.refund_create, name="refund_create"),
    path("<int:payment_id>/refunds/<int:refund_id>/retry/", views.refund_retry, name="refund_retry"),
    path("receipts/<int:receipt_id>/", views.receipt_detail, name="receipt_detail"),
    path("receipts/<int:receipt_id>/link/", views.receipt_new_link, name="receipt_new_link"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:delivery_id>/replay/", views.webhook_replay, name="webhook_replay"),
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
