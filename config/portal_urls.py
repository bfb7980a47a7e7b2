"""The customer portal, at the site root: ``/portal/…``. No staff login; a magic link signs the customer in.
Obligations' pages (sign-in, the home page, instalments) and the account's (invoices, statements)."""

from django.urls import path

from obligations.views import portal
from receivables.views import portal as account

app_name = "portal"
urlpatterns = [
    path("portal/", portal.portal_home, name="home"),
    path("portal/link/<str:token>/", portal.portal_enter, name="enter"),
    path("portal/sign-out/", portal.portal_sign_out, name="sign_out"),
    path("portal/instalments/<int:instalment_id>/pay/", portal.portal_pay, name="pay"),
    path("portal/instalments/<int:instalment_id>/done/", portal.portal_done, name="done"),
    path("portal/instalments/<int:instalment_id>/receipt/", portal.portal_receipt, name="receipt"),
    path("portal/cards/<int:card_id>/remove/", portal.portal_card_remove, name="card_remove"),
    path("portal/invoices/<int:invoice_id>/pay/", account.portal_invoice_pay, name="invoice_pay"),
    path("portal/invoices/<int:invoice_id>/receipt/", account.portal_invoice_receipt, name="invoice_receipt"),
    path("portal/accounts/<int:account_id>/statement/", account.portal_statement, name="statement"),
    path("portal/<slug:slug>/", portal.portal_sign_in, name="sign_in"),
]
