from django.urls import path

from . import apis

urlpatterns = [
    path("status", apis.StatusLookupApi.as_view(), name="status-lookup"),  # first: agents poll it
    path("declarations", apis.DeclarationListCreateApi.as_view(), name="declarations"),
    path("declarations/<uuid:declaration_id>", apis.DeclarationDetailApi.as_view(), name="declaration"),
    path("declarations/<uuid:declaration_id>/lodge", apis.DeclarationLodgeApi.as_view(), name="declaration-lodge"),
    path("declarations/<uuid:declaration_id>/cancel", apis.DeclarationCancelApi.as_view(),
         name="declaration-cancel"),
    path("declarations/<uuid:declaration_id>/payments", apis.DeclarationPaymentApi.as_view(),
         name="declaration-payments"),
    path("declarations/<uuid:declaration_id>/history", apis.DeclarationHistoryApi.as_view(),
         name="declaration-history"),
    path("declarations/<uuid:declaration_id>/documents", apis.DeclarationDocumentsApi.as_view(),
         name="declaration-documents"),
    path("declarations/<uuid:declaration_id>/documents/<uuid:document_id>/content",
         apis.DeclarationDocumentContentApi.as_view(), name="declaration-document-content"),
    path("idfs", apis.IdfCreateApi.as_view(), name="idfs"),
    path("payments/bank-callback", apis.BankCallbackApi.as_view(), name="bank-callback"),
]
