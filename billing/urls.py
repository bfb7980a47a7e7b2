from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.schedule_list, name="schedule_list"),
    path("settings/", views.billing_settings, name="settings"),
    path("accounts/<int:account_id>/schedules/", views.account_panel, name="account_panel"),
    path("accounts/<int:account_id>/schedules/new/", views.schedule_create, name="schedule_create"),
    path("schedules/<int:schedule_id>/", views.schedule_detail, name="schedule_detail"),
    path("schedules/<int:schedule_id>/lines/", views.schedule_lines, name="schedule_lines"),
    path("schedules/<int:schedule_id>/pause/", views.schedule_pause, name="schedule_pause"),
    path("schedules/<int:schedule_id>/resume/", views.schedule_resume, name="schedule_resume"),
    path("runs/<int:run_id>/post/", views.run_post, name="run_post"),
    path("schedules/<int:schedule_id>/end/", views.schedule_end, name="schedule_end"),
]
