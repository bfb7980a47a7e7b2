from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("today/", views.home, name="home"),
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/<int:segment_id>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:segment_id>/statements/", views.segment_statements, name="segment_statements"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="segment_delete"),
    path("<slug:slug>/", views.report, name="report"),
]
