from django.contrib import admin
from django.contrib.auth import urls as django_auth_urls
from django.urls import include, path

from config import health, metrics
from config.api import api
from crm import views as crm_views
from payments.views import gateway_payments
from receivables.views import statements as receivables_statements

admin.site.site_header = "Duly support"
admin.site.site_title = "Duly support"

# Django's sign-in pages, but setting a new password also clears the account's failed sign-ins.
auth_urls = [
    path("reset/<uidb64>/<token>/", crm_views.PasswordResetConfirm.as_view(), name="password_reset_confirm")
    if route.name == "password_reset_confirm" else route
    for route in django_auth_urls.urlpatterns
]

urlpatterns = [
    path("", crm_views.home, name="home"),
    path("favicon.ico", crm_views.favicon, name="favicon"),
    path("health/live/", health.live, name="health_live"),
    path("health/ready/", health.ready, name="health_ready"),
    path("metrics/", metrics.metrics, name="metrics"),
    path("accounts/two-factor/", crm_views.two_factor_verify, name="two_factor_verify"),
    path("accounts/", include(auth_urls)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("finance/", include("finance.urls")),
    path("payments/", include("payments.urls")),
    path("payments/", include("paylinks.urls")),
    path("payments/", include("obligations.urls")),
    path("reports/", include("reports.urls")),
    path("bank/", include("banking.urls")),
    path("", include("paylinks.public_urls")),
    path("", include("config.portal_urls")),
    path("statements/<str:token>/", receivables_statements.statement_public, name="statement_public"),
    path("finance/receivables/", include("receivables.urls")),
    path("finance/billing/", include("billing.urls")),
    path("receipts/<str:token>/", gateway_payments.receipt_public, name="receipt_public"),
    path("receipts/<str:token>.pdf", gateway_payments.receipt_public, {"as_pdf": True}, name="receipt_public_pdf"),
    path("", include("notifications.urls")),
    path("", include("gateways.urls")),
    path("", include("sandbox.urls")),
    path("", include("crm.urls")),
]
