from django.urls import path

from finance import views

app_name = "finance"
urlpatterns = [
    path("transactions/", views.transaction_list, name="transaction_list"),
    path("transactions/new/<slug:classification>/", views.transaction_create, name="transaction_create"),
    path("transactions/<int:transaction_id>/", views.transaction_detail, name="transaction_detail"),
    path("transactions/<int:transaction_id>/edit/", views.transaction_update, name="transaction_update"),
    path("transactions/<int:transaction_id>/print/", views.transaction_printout, name="transaction_printout"),
    path("transactions/<int:transaction_id>/print/send/", views.transaction_printout_send,
         name="transaction_printout_send"),
    path("transactions/export.<slug:fmt>", views.transaction_export, name="transaction_export"),
    path("p/<str:token>/", views.printout_public, name="printout_public"),
    path("transactions/<int:transaction_id>/<slug:action>/", views.transaction_action, name="transaction_action"),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:account_id>/", views.account_detail, name="account_detail"),
    path("accounts/<int:account_id>/state/", views.account_state, name="account_state"),
    path("accounts/<int:account_id>/refund/", views.account_refund, name="account_refund"),
    path("customers/<int:customer_id>/panel/", views.customer_panel, name="customer_panel"),
    path("customers/<int:customer_id>/accounts/", views.account_open, name="account_open"),
    path("settings/", views.settings_index, name="settings_index"),
    path("settings/ledger/", views.ledger_settings, name="ledger_settings"),
    path("settings/<slug:entity>/", views.setting_list, name="setting_list"),
    path("settings/<slug:entity>/new/", views.setting_edit, name="setting_create"),
    path("settings/<slug:entity>/<int:pk>/", views.setting_edit, name="setting_update"),
]
