from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import apis as core_apis

# Every app owns its routes under /api/v1/ (API.md paths are absolute from there). Django tries
# patterns in order, so the hot paths come first: health (core) and the agents' status polling and
# lodging (declarations) resolve after a handful of pattern checks instead of ~40. No two apps'
# patterns overlap, so the order changes nothing else (the schema sorts its paths itself).
api_v1 = [
    path("", include("core.urls")),
    path("", include("declarations.urls")),
    path("", include("reference.urls")),
    path("", include("traders.urls")),
    path("", include("tariff.urls")),
    path("", include("manifests.urls")),
    path("", include("clearance.urls")),
    path("", include("maintenance.urls")),
    path("", include("notifications.urls")),
    path("", include("transit.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include(api_v1)),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return core_apis.api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return core_apis.api_server_error(request)
    return defaults.server_error(request)
