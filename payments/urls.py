from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("", views.payment_list, name="payment_list"),
    path("<int:payment_id>/", views.payment_detail, name="payment_detail"),
    path("<int:payment_id>/confirm/", views.payment_confirm, name="payment_confirm"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:delivery_id>/replay/", views.webhook_replay, name="webhook_replay"),
]
