"""Staff pages of pay links, under ``/payments/`` beside the payments they start."""

from django.urls import path

from paylinks.views import invoice_pay, requests

app_name = "paylinks"
urlpatterns = [
    path("requests/", requests.request_list, name="request_list"),
    path("requests/<int:request_id>/cancel/", requests.request_cancel, name="request_cancel"),
    path("requests/<int:request_id>/resend/", requests.request_resend, name="request_resend"),
    path("requests/<int:request_id>/consolidate/", requests.request_consolidate, name="request_consolidate"),
    path("customers/<int:customer_id>/requests/", requests.customer_panel, name="customer_panel"),
    path("customers/<int:customer_id>/requests/new/", requests.request_create, name="request_create"),
    path("invoices/<int:invoice_id>/requests/", requests.invoice_request_panel, name="invoice_request_panel"),
    path("invoices/<int:invoice_id>/requests/new/", requests.invoice_request_create, name="invoice_request_create"),
    path("invoices/<int:invoice_id>/email-pay/", invoice_pay.invoice_pay_panel, name="invoice_pay_panel"),
    path("invoices/<int:invoice_id>/email-pay/send/", invoice_pay.invoice_pay_send, name="invoice_pay_send"),
]
