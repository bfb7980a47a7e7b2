from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:delivery_id>/replay/", views.webhook_replay, name="webhook_replay"),
]
