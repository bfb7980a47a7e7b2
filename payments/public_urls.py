"""The payer's pages, at the site root: ``/pay/<token>/``. No login; the token is the capability."""

from django.urls import path

from payments import views

app_name = "pay"
urlpatterns = [
    path("pay/invoice/<str:token>/", views.invoice_pay_page, name="invoice"),
    path("pay/invoice/<str:token>/done/", views.invoice_pay_done, name="invoice_done"),
    path("pay/<str:token>/", views.pay_page, name="page"),
    path("pay/<str:token>/done/", views.pay_done, name="done"),
    path("pay/<str:token>/receipt/", views.pay_receipt, name="receipt"),
    path("pay/<str:token>/receipt.pdf", views.pay_receipt, {"as_pdf": True}, name="receipt_pdf"),
]
