from django.urls import path

from manifests import apis

urlpatterns = [
    path("manifests", apis.ManifestListCreateApi.as_view(), name="manifests"),
    path("manifests/edifact", apis.ManifestEdifactApi.as_view(), name="manifests-edifact"),
    path("manifests/<uuid:manifest_id>", apis.ManifestDetailApi.as_view(), name="manifest-detail"),
    path("manifests/<uuid:manifest_id>/lodge", apis.ManifestSubmitApi.as_view(), name="manifest-lodge"),
    path("manifests/<uuid:manifest_id>/arrival", apis.ManifestArrivalApi.as_view(), name="manifest-arrival"),
    path("manifests/<uuid:manifest_id>/discharge", apis.ManifestDischargeApi.as_view(), name="manifest-discharge"),
    path("manifests/<uuid:manifest_id>/history", apis.ManifestHistoryApi.as_view(), name="manifest-history"),
    path("manifests/<uuid:manifest_id>/versions/<int:version>", apis.ManifestVersionApi.as_view(),
         name="manifest-version"),
    path("bills-of-lading/<str:number>", apis.BillOfLadingApi.as_view(), name="bill-of-lading"),
]
