from django.urls import path

from traders import apis

urlpatterns = [
    path("traders/<str:pin>", apis.TraderDetailApi.as_view(), name="trader-detail"),
]
