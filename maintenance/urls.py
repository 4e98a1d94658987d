from django.urls import path

from . import apis

urlpatterns = [
    path("system/status", apis.SystemStatusApi.as_view(), name="system-status"),
    path("system/receipt-key", apis.ReceiptKeyApi.as_view(), name="system-receipt-key"),
    path("maintenance/windows", apis.WindowListApi.as_view(), name="maintenance-windows"),
    path("maintenance/windows.ics", apis.WindowCalendarApi.as_view(), name="maintenance-windows-ics"),
]
