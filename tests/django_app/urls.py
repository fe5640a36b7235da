"""urls.py: the test project's one view, under any path below /dj/."""

from django.urls import re_path

from django_app import views

urlpatterns = [
    re_path(r"^dj/", views.items),
]
