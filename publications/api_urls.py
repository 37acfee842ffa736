from django.urls import path

from publications import api

publications = [
    path("", api.PublicationList.as_view(), name="api_publications"),
    path("<slug:slug>/", api.PublicationDetail.as_view(), name="api_publication"),
    path("<slug:slug>/versions/", api.VersionList.as_view(), name="api_publication_versions"),
]

consultations = [
    path("", api.ConsultationList.as_view(), name="api_consultations"),
    path("<int:pk>/", api.ConsultationDetail.as_view(), name="api_consultation"),
    path("<int:pk>/comments/", api.CommentList.as_view(), name="api_consultation_comments"),
]
