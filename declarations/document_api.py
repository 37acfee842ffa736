"""A declaration's documents by API: add an invoice or photo, list them, download one.

The same rules as in the browser, through the same service (``services.document_add``): the
file's size is checked against ``Document.MAX_BYTES`` and its type is read from its first
bytes (PDF, JPEG or PNG), never from its name or the client's content type; the kind is one of
``Document.Kind``. Clients authenticate with their organisation's API key and reach only that
organisation's declarations and their documents; another organisation's declaration or
document, or a document asked for under a declaration it does not belong to, is a 404.

Choices made here:

- **In which statuses.** A filer may add a document to its declaration in every status, as in
  the browser (``views.document_upload`` asks nothing of the status): a document changes no
  figure of the assessment, and an invoice added after a decision still serves a refund
  claim or a later audit. Adding one does not answer an officer's question: the answer (text
  with documents, which moves the declaration back to review) belongs to review's
  ``info_answer`` service.
- **Errors.** A missing file, or a body that is not multipart, is refused before the service
  runs (400 with the ``file`` field; 415 for another content type). The service's refusals
  are answered as every business rule is, 422 in the error envelope with the field and the
  rule: ``file``/``too_large``, ``file``/``file_type``, ``kind``/``invalid``. The portal
  itself answers no 413; a proxy in front of it may refuse a larger body first.
- **Idempotency.** The upload honours ``Idempotency-Key`` like the other writes
  (``clearance.api.idempotent``), which hashes the method, the path (so the declaration) and
  a body. For a multipart request that body is the kind and the file's name, size and SHA-256
  of its bytes: the same key with the same file replays the first answer and stores nothing;
  with another file, name or kind it is refused (422, ``idempotency_key_reused``). The file
  is hashed only when the request carries a key. The replayed body holds the download
  address, so it answers as the first did.
- **The list** is not paginated: a declaration has a handful of documents, and the browser
  shows them all too.
- **The download** is served as an attachment with its original name, never inline, as
  ``application/octet-stream`` whatever the client's ``Accept`` header says: the schema can
  then name the one type a download has (a generated client reads it as bytes), and the file's
  own type, read from its bytes, is the document's ``content_type``. Refusals are JSON.
- **The kind** is one of ``Document.Kind`` in the schema: another is a 400 naming ``kind``
  (the service's own ``kind``/``invalid`` stays for its other callers).
"""

from collections.abc import Iterable
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.access import found_or_404
from clearance.api import ApiView, idempotent
from clearance.models import Organisation
from clearance.uploads import file_fingerprint
from declarations import access, services
from declarations.api import ERROR, IDEMPOTENCY
from declarations.models import Document


def document_for_organisation(organisation: Organisation, pk: int, doc_id: int) -> Document:
    """For API clients: a document of a declaration of the key's organisation, asked for under
    that declaration; otherwise 404."""
    declaration = access.declaration_for_organisation(organisation, pk)
    return found_or_404(Document.objects.filter(declaration=declaration), pk=doc_id)


# --- Shapes --------------------------------------------------------------------------------


class DocumentSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    declaration = serializers.IntegerField(help_text="The declaration's id.")
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    filename = serializers.CharField(help_text="The name the file was uploaded with.")
    content_type = serializers.CharField(help_text="Read from the file's first bytes.")
    size = serializers.IntegerField(help_text="Bytes.")
    uploaded_at = serializers.DateTimeField()
    download = serializers.URLField(help_text="Where to download the file.")


@extend_schema_field(OpenApiTypes.BINARY)
class BinaryField(serializers.FileField):
    """A file sent as a multipart part: ``format: binary`` in the schema (a plain
    ``FileField`` is described as a URI, the shape it has in answers). An empty file is taken
    here and judged by the service, which reads the type from the bytes (422)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(**kwargs)


class DocumentUploadSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    file = BinaryField(
        help_text="A PDF, JPEG or PNG file, at most 10 MB; the type is read from its content."
    )


class DocumentListSerializer(serializers.Serializer[dict[str, Any]]):
    results = DocumentSerializer(many=True)


def document_out(request: Request, document: Document) -> dict[str, Any]:
    url = reverse(
        "api-declaration-document",
        kwargs={"pk": document.declaration_id, "doc_id": document.pk},
    )
    return dict(
        DocumentSerializer(
            {
                "id": document.pk,
                "declaration": document.declaration_id,
                "kind": document.kind,
                "filename": document.original_name,
                "content_type": document.content_type,
                "size": document.size,
                "uploaded_at": document.uploaded_at,
                "download": request.build_absolute_uri(url),
            }
        ).data
    )


def upload_fingerprint(request: Request, kind: str, file: Any) -> dict[str, Any]:
    """What the idempotency record compares for a multipart upload: the kind and the file's
    name, size and SHA-256 (read only when the request carries an ``Idempotency-Key``)."""
    if not request.headers.get("Idempotency-Key", "").strip():
        return {}
    return {"kind": kind, "file": file_fingerprint(file)}


NOT_FOUND = OpenApiResponse(ERROR, description="Not a declaration of your organisation.")
UNAUTHENTICATED = OpenApiResponse(ERROR, description="No valid API key.")


# --- Endpoints -----------------------------------------------------------------------------


class DocumentListView(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        responses={200: DocumentListSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
        summary="List a declaration's documents",
        operation_id="declarations_documents_list",
    )
    def get(self, request: Request, pk: int) -> Response:
        declaration = access.declaration_for_organisation(self.organisation(), pk)
        documents = declaration.documents.order_by("uploaded_at", "id")
        return Response({"results": [document_out(request, d) for d in documents]})

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer},
        parameters=[
            IDEMPOTENCY,
            OpenApiParameter(
                "Idempotent-Replayed",
                str,
                OpenApiParameter.HEADER,
                response=[201],
                description="`true` when this is the first answer, replayed.",
            ),
        ],
        responses={
            201: DocumentSerializer,
            400: OpenApiResponse(
                ERROR, description="No file in the field `file`, or a `kind` not offered."
            ),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            415: OpenApiResponse(ERROR, description="The body is not multipart/form-data."),
            422: OpenApiResponse(
                ERROR,
                description="A rule refused it: `file`/`too_large`, `file`/`file_type`, "
                "or `Idempotency-Key`/`idempotency_key_reused`.",
            ),
        },
        summary="Add an invoice, photo or other document to a declaration",
        description="In any status of the declaration. Send `multipart/form-data` with the "
        "`kind` and the `file`; the file's type is read from its content.",
        operation_id="declarations_documents_create",
    )
    def post(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        declaration = access.declaration_for_organisation(organisation, pk)
        file = request.FILES.get("file")
        if file is None:
            raise ValidationError(
                {"file": [_("Send the document in the field “file”.")]}, code="required"
            )
        sent: Any = request.data
        given = DocumentUploadSerializer(data={"kind": sent.get("kind"), "file": file})
        given.is_valid(raise_exception=True)
        kind = str(given.validated_data["kind"])

        def produce() -> Response:
            document = services.document_add(
                declaration=declaration, kind=kind, upload=file, actor=self.actor()
            )
            return Response(document_out(request, document), status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, upload_fingerprint(request, kind, file), produce)


class AnyAccept(BaseContentNegotiation):
    """The download has one type, the stored one: answer it whatever ``Accept`` asks, and
    render refusals with the first renderer (JSON)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
DOWNLOAD_TYPE = "application/octet-stream"


class DocumentDownloadView(ApiView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "Content-Disposition",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description='`attachment; filename="…"` with the name it was uploaded with.',
            )
        ],
        responses={
            (200, DOWNLOAD_TYPE): BINARY,
            401: UNAUTHENTICATED,
            404: OpenApiResponse(
                ERROR, description="Not a document of this declaration of your organisation."
            ),
        },
        summary="Download one of a declaration's documents",
        operation_id="declarations_documents_download",
    )
    def get(self, request: Request, pk: int, doc_id: int) -> FileResponse:
        document = document_for_organisation(self.organisation(), pk, doc_id)
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=document.original_name,
            content_type=DOWNLOAD_TYPE,
        )
