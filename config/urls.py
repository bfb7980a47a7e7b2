from django.contrib import admin
from django.urls import include, path

from config.api import api
from crm import views as crm_views

admin.site.site_header = "Duly support"
admin.site.site_title = "Duly support"

urlpatterns = [
    path("", crm_views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("finance/", include("finance.urls")),
    path("payments/", include("payments.urls")),
    path("", include("notifications.urls")),
    path("", include("gateways.urls")),
    path("", include("crm.urls")),
]
