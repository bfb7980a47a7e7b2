"""The payer's pages, at the site root: ``/pay/<token>/``. No login; the token is the capability."""

from django.urls import path

from paylinks.views import invoice_pay, requests

app_name = "pay"
urlpatterns = [
    path("pay/invoice/<str:token>/", invoice_pay.invoice_pay_page, name="invoice"),
    path("pay/invoice/<str:token>/done/", invoice_pay.invoice_pay_done, name="invoice_done"),
    path("pay/<str:token>/", requests.pay_page, name="page"),
    path("pay/<str:token>/done/", requests.pay_done, name="done"),
    path("pay/<str:token>/receipt/", requests.pay_receipt, name="receipt"),
    path("pay/<str:token>/receipt.pdf", requests.pay_receipt, {"as_pdf": True}, name="receipt_pdf"),
]
