from django.urls import include, path

from gateways import sandbox_server

app_name = "gateways"
urlpatterns = [
    path("", include("gateways.webhook_urls")),
    # The offline Sandbox provider, served by Duly itself (see gateways.sandbox for the contract).
    path("sandbox/api/account", sandbox_server.api_account, name="sandbox_api_account"),
    path("sandbox/api/checkouts", sandbox_server.api_checkouts, name="sandbox_api_checkouts"),
    path("sandbox/api/checkouts/<str:checkout_id>", sandbox_server.api_checkout, name="sandbox_api_checkout"),
    path("sandbox/api/checkouts/<str:checkout_id>/refunds", sandbox_server.api_refunds, name="sandbox_api_refunds"),
    path("sandbox/api/checkouts/<str:checkout_id>/settle", sandbox_server.api_settle, name="sandbox_api_settle"),
    path("sandbox/pay/<str:checkout_id>/", sandbox_server.pay, name="sandbox_pay"),
    path("sandbox/pay/<str:checkout_id>/settle/", sandbox_server.pay_settle, name="sandbox_settle"),
    path("sandbox/pay/<str:checkout_id>/cancel/", sandbox_server.pay_cancel, name="sandbox_cancel"),
    path("sandbox/fields/<str:client_token>/", sandbox_server.fields, name="sandbox_fields"),
    path("sandbox/fields/<str:client_token>/confirm", sandbox_server.fields_confirm, name="sandbox_fields_confirm"),
]
