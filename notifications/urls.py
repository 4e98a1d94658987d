from django.urls import path

from . import apis

urlpatterns = [
    path("notifications", apis.NotificationFeedApi.as_view(), name="notification-feed"),
]
