from django.urls import include, path

app_name = "gateways"
urlpatterns = [
    path("", include("gateways.webhook_urls")),
]
