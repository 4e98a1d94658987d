"""Private URLconf for the transit tests: the project's routes plus transit's under /api/v1/."""

from django.urls import include, path

from config.urls import api_v1
from config.urls import urlpatterns as project_urlpatterns

_has_transit = any(getattr(p, "urlconf_name", None) is not None and getattr(p.urlconf_name, "__name__", "")
                   == "transit.urls" for p in api_v1)
urlpatterns = list(project_urlpatterns) if _has_transit else [
    path("api/v1/", include("transit.urls")),
    *project_urlpatterns,
]
