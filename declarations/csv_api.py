"""CSV files of declarations by API: upload one to check, read its state, confirm it.

Same keys, envelope and ``Idempotency-Key`` handling as the rest of the filing API
(``declarations.api``). The upload is multipart with the file in the field ``file`` (400
without it); the checks and the import are ``declarations.csvfiles``'s, and a file that cannot
be confirmed (not checked yet, or confirmed already) is refused with 422.
"""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from clearance.api import ApiView, Flag, idempotent
from clearance.uploads import file_fingerprint
from declarations import access, csvfiles
from declarations.api import ERROR, IDEMPOTENCY
from declarations.document_api import BinaryField
from declarations.models import CsvUpload

UPLOAD = inline_serializer(
    "CsvUpload",
    {
        "id": serializers.IntegerField(),
        "state": serializers.ChoiceField(choices=CsvUpload.State.choices),
        "total_rows": serializers.IntegerField(),
        "processed_rows": serializers.IntegerField(),
        "valid_declarations": serializers.IntegerField(),
        "invalid_declarations": serializers.IntegerField(),
        "imported_declarations": serializers.IntegerField(),
        "failure": serializers.CharField(),
        "errors": inline_serializer(
            "CsvError",
            {
                "row": serializers.IntegerField(),
                "reference": serializers.CharField(),
                "column": serializers.CharField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
            },
            many=True,
        ),
    },
)


def upload_out(upload: CsvUpload) -> dict[str, Any]:
    return {
        "id": upload.pk,
        "state": upload.state,
        "total_rows": upload.total_rows,
        "processed_rows": csvfiles.progress_rows(upload),
        "valid_declarations": upload.valid_declarations,
        "invalid_declarations": upload.invalid_declarations,
        "imported_declarations": upload.imported_declarations,
        "failure": upload.failure,
        "errors": upload.errors,
    }


class UploadView(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "CsvFile", {"file": BinaryField(help_text="The CSV file.")}
            )
        },
        parameters=[IDEMPOTENCY],
        responses={201: UPLOAD, 422: ERROR},
        summary="Upload a CSV file of declarations to check",
        description="Small files are checked at once; large ones by a worker (poll the "
        "upload until its state is `checked`). Nothing is saved until you confirm.",
    )
    def post(self, request: Request) -> Response:
        organisation = self.organisation()
        file = request.FILES.get("file")
        if file is None:
            raise ValidationError({"file": [_("Send the CSV file in the field “file”.")]})
        fingerprint = {"file": file_fingerprint(file)}

        def produce() -> Response:
            assert file is not None
            upload = csvfiles.upload_create(
                organisation=organisation, file=file, by=None, api_key=self.actor().api_key
            )
            upload = csvfiles.upload_start(upload)
            return Response(upload_out(upload), status=status.HTTP_201_CREATED)

        return idempotent(request, organisation, fingerprint, produce)


class UploadDetailView(ApiView):
    @extend_schema(responses={200: UPLOAD}, summary="An uploaded file's state and errors")
    def get(self, request: Request, pk: int) -> Response:
        return Response(upload_out(access.upload_for_organisation(self.organisation(), pk)))


class ConfirmSerializer(serializers.Serializer[dict[str, Any]]):
    only_valid = Flag(required=False, help_text="Submit only the valid declarations.")


class UploadConfirmView(ApiView):
    @extend_schema(
        request=ConfirmSerializer,
        parameters=[IDEMPOTENCY],
        responses={200: UPLOAD, 422: ERROR},
        summary="Submit a checked file's declarations",
    )
    def post(self, request: Request, pk: int) -> Response:
        organisation = self.organisation()
        upload = access.upload_for_organisation(organisation, pk)
        given = ConfirmSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        only_valid = given.validated_data.get("only_valid", False)

        def produce() -> Response:
            confirmed = csvfiles.upload_confirm(
                upload=upload, only_valid=only_valid, actor=self.actor()
            )
            return Response(upload_out(csvfiles.upload_import_start(confirmed)))

        return idempotent(request, organisation, {"confirm": pk, "only_valid": only_valid}, produce)
