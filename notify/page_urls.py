"""The notify pages: signed answer links and the settings page (outside /api/)."""

from django.urls import path

from notify.pages import answer_link_page, settings_page

urlpatterns = [
    path("answer/<str:token>/", answer_link_page, name="notify-answer"),
    path("settings/notifications/", settings_page, name="notify-settings"),
]
