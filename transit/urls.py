from django.urls import path

from . import apis

urlpatterns = [
    path("transit/tracking-events", apis.TrackingEventApi.as_view(), name="transit-tracking-events"),
    path("transit/partner-messages", apis.PartnerMessageApi.as_view(), name="transit-partner-messages"),
    path("transit/movements", apis.MovementListApi.as_view(), name="transit-movements"),
    path("transit/movements/<uuid:movement_id>", apis.MovementDetailApi.as_view(), name="transit-movement"),
    path("transit/bonds", apis.BondListApi.as_view(), name="transit-bonds"),
    path("transit/queue", apis.OfficerQueueApi.as_view(), name="transit-queue"),
]
