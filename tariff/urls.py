from django.urls import path

from tariff import apis

urlpatterns = [
    path("tariff/lines", apis.TariffLineSearchApi.as_view(), name="tariff-line-search"),
    path("tariff/lines/<str:hs_code>", apis.TariffLineDetailApi.as_view(), name="tariff-line-detail"),
    path("exchange-rates", apis.ExchangeRateApi.as_view(), name="exchange-rates"),
]
