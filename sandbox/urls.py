"""The offline Sandbox provider, served by Duly itself (see ``gateways.sandbox`` for the contract)."""

from django.urls import path

from sandbox import payer_pages, provider_api

app_name = "sandbox"
urlpatterns = [
    path("sandbox/api/account", provider_api.api_account, name="api_account"),
    path("sandbox/api/checkouts", provider_api.api_checkouts, name="api_checkouts"),
    path("sandbox/api/checkouts/<str:checkout_id>", provider_api.api_checkout, name="api_checkout"),
    path("sandbox/api/checkouts/<str:checkout_id>/refunds", provider_api.api_refunds, name="api_refunds"),
    path("sandbox/api/checkouts/<str:checkout_id>/settle", provider_api.api_settle, name="api_settle"),
    path("sandbox/api/cards/<str:card_id>", provider_api.api_card, name="api_card"),
    path("sandbox/api/cards/<str:card_id>/charges", provider_api.api_card_charges, name="api_card_charges"),
    path("sandbox/pay/<str:checkout_id>/", payer_pages.pay, name="pay"),
    path("sandbox/pay/<str:checkout_id>/settle/", payer_pages.pay_settle, name="settle"),
    path("sandbox/pay/<str:checkout_id>/cancel/", payer_pages.pay_cancel, name="cancel"),
    path("sandbox/fields/<str:client_token>/", payer_pages.fields, name="fields"),
    path("sandbox/fields/<str:client_token>/confirm", payer_pages.fields_confirm, name="fields_confirm"),
]
