from django.urls import path

from payments.views import fees, gateway_payments, gateway_settings, saved_cards

app_name = "payments"
urlpatterns = [
    path("customers/<int:customer_id>/fees/", fees.fees_panel, name="fees_panel"),
    path("customers/<int:customer_id>/cards/", saved_cards.cards_panel, name="cards_panel"),
    path("cards/<int:card_id>/remove/", saved_cards.card_remove, name="card_remove"),
    path("fees/<int:invoice_id>/take/", fees.take_payment, name="take_payment"),
    path("<int:payment_id>/status/", fees.payment_status, name="payment_status"),
    path("", gateway_payments.payment_list, name="payment_list"),
    path("gateways/", gateway_settings.gateway_list, name="gateway_list"),
    path("gateways/connect/", gateway_settings.gateway_edit, name="gateway_connect"),
    path("gateways/<int:account_id>/", gateway_settings.gateway_edit, name="gateway_edit"),
    path("gateways/<int:account_id>/check/", gateway_settings.gateway_check, name="gateway_check"),
    path("<int:payment_id>/", gateway_payments.payment_detail, name="payment_detail"),
    path("<int:payment_id>/confirm/", gateway_payments.payment_confirm, name="payment_confirm"),
    path("<int:payment_id>/refunds/", gateway_payments.refund_create, name="refund_create"),
    path("<int:payment_id>/refunds/<int:refund_id>/retry/", gateway_payments.refund_retry, name="refund_retry"),
    path("receipts/<int:receipt_id>/", gateway_payments.receipt_detail, name="receipt_detail"),
    path("receipts/<int:receipt_id>/link/", gateway_payments.receipt_new_link, name="receipt_new_link"),
    path("webhooks/", gateway_payments.webhook_list, name="webhook_list"),
    path("webhooks/<int:delivery_id>/replay/", gateway_payments.webhook_replay, name="webhook_replay"),
]
