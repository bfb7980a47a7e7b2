from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/bell/", views.bell, name="bell"),
    path("notifications/read-all/", views.mark_all_read, name="mark_all_read"),
    path("notifications/<int:notification_id>/read/", views.mark_read, name="mark_read"),
    path("notifications/outbox/", views.outbox, name="outbox"),
    path("notifications/outbox/<int:notification_id>/retry/", views.outbox_retry, name="outbox_retry"),
    path("notifications/messages/", views.template_list, name="template_list"),
    path("notifications/messages/<slug:key>/<slug:language>/", views.template_edit, name="template_edit"),
    path("notifications/settings/", views.settings_edit, name="settings"),
    path("notifications/customers/<int:customer_id>/communicate/", views.customer_communicate,
         name="customer_communicate"),
    path("dev/mail/", views.dev_mailbox, name="dev_mailbox"),
    path("dev/mail/<int:mail_id>/", views.dev_mail_detail, name="dev_mail_detail"),
]
