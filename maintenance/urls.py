from django.urls import path

from . import apis, release_apis

urlpatterns = [
    path("system/status", apis.SystemStatusApi.as_view(), name="system-status"),
    path("system/receipt-key", apis.ReceiptKeyApi.as_view(), name="system-receipt-key"),
    path("system/receipt-keys", apis.ReceiptKeyListApi.as_view(), name="system-receipt-keys"),
    path("receipts/<str:submission_id>", apis.ReceiptLookupApi.as_view(), name="receipt-lookup"),
    path("provisional-releases/verify", release_apis.ProvisionalReleaseVerifyApi.as_view(),
         name="provisional-release-verify"),
    path("provisional-releases/print", release_apis.ProvisionalReleasePrintApi.as_view(),
         name="provisional-release-print"),
    path("provisional-releases/rules", release_apis.ProvisionalReleaseRulesApi.as_view(),
         name="provisional-release-rules"),
    path("maintenance/windows", apis.WindowListApi.as_view(), name="maintenance-windows"),
    path("maintenance/windows.ics", apis.WindowCalendarApi.as_view(), name="maintenance-windows-ics"),
]
