from django.urls import path

from . import apis

urlpatterns = [
    path("gate-events", apis.GateEventCreateApi.as_view(), name="gate-events"),
    path("declarations/<uuid:declaration_id>/query-responses", apis.QueryResponseCreateApi.as_view(),
         name="declaration-query-responses"),
    path("declarations/<uuid:declaration_id>/queries", apis.DeclarationQueriesApi.as_view(),
         name="declaration-queries"),
]
