from django.urls import path

from . import apis

urlpatterns = [
    path("transit/tracking-events", apis.TrackingEventApi.as_view(), name="transit-tracking-events"),
    path("transit/partner-messages", apis.PartnerMessageApi.as_view(), name="transit-partner-messages"),
    path("transit/movements", apis.MovementListApi.as_view(), name="transit-movements"),
    path("transit/movements/<uuid:movement_id>", apis.MovementDetailApi.as_view(), name="transit-movement"),
    path("transit/bonds", apis.BondListApi.as_view(), name="transit-bonds"),
    path("transit/queue", apis.OfficerQueueApi.as_view(), name="transit-queue"),
    path("transit/alerts", apis.AlertListApi.as_view(), name="transit-alerts"),
    path("transit/alerts/<uuid:alert_id>/acknowledge", apis.AlertAcknowledgeApi.as_view(),
         name="transit-alert-acknowledge"),
    path("transit/alerts/<uuid:alert_id>/investigate", apis.AlertInvestigateApi.as_view(),
         name="transit-alert-investigate"),
    path("transit/alerts/<uuid:alert_id>/resolve", apis.AlertResolveApi.as_view(), name="transit-alert-resolve"),
    path("transit/movements/<uuid:movement_id>/exit-override", apis.MovementExitOverrideApi.as_view(),
         name="transit-movement-exit-override"),
    path("transit/movements/<uuid:movement_id>/demand", apis.MovementDemandApi.as_view(),
         name="transit-movement-demand"),
]
