"""Declarations in CSV files: one row per item line, grouped by reference.

A file is read as a stream, one declaration at a time, so a 100,000-line file needs little
memory. It is first checked (every row's errors, nothing saved), then imported once the filer
confirms: the whole file, or only its valid declarations. The import is one transaction, so
afterwards exactly the chosen declarations exist, or none.

The rows of one declaration are consecutive; the declaration's own fields are read from its
first row, and its other rows may leave them empty.

A file larger than ``CSV_UPLOAD_MAX_BYTES`` is refused before anything is stored (10 MB, the
default, is about 40,000 lines); a request larger than ``REQUEST_MAX_BYTES`` is refused
before it is read at all (``clearance.middleware.RequestSizeLimitMiddleware``). A row the CSV
reader cannot read (a cell over its size limit) is an error on that row, and reading stops there.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext as _

from clearance.actors import Actor
from clearance.errors import ServiceError
from clearance.models import ApiKey, Organisation, User
from clearance.queue import enqueue_on_commit
from clearance.spreadsheets import csv_cell
from clearance.uploads import megabytes
from clearance.workflow import lock_row
from declarations import selectors, services, validation
from declarations.models import CsvUpload

HEADER_COLUMNS = list(validation.HEADER_FIELDS)
LINE_COLUMNS = list(validation.LINE_FIELDS)
COLUMNS = HEADER_COLUMNS + LINE_COLUMNS
BATCH = 500
MAX_STORED_ERRORS = 20_000
# Files up to this size are checked while the filer waits; larger ones by a worker.
INLINE_BYTES = 256 * 1024


def template() -> str:
    """A file with the columns and one example declaration of two lines."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    first = {
        "reference": "ORDER-1001",
        "transport_mode": "express",
        "transport_document": "1Z999AA10123456784",
        "carrier": "Fast Parcel",
        "marketplace": "Shop Example",
        "order_reference": "SO-1001",
        "purpose": "personal",
        "seller_name": "Shenzhen Audio Ltd",
        "seller_address": "1 Market St, Shenzhen",
        "seller_country": "CN",
        "consignee_name": "Kim Min-jun",
        "consignee_address": "12 Sejong-daero, Seoul",
        "consignee_country": "KR",
        "consignee_id_number": "P123456789012",
        "currency": "USD",
        "shipping_cost": "5.00",
        "insurance_cost": "0.00",
        "tax_collected_at_sale": "false",
        "description": "Wireless bluetooth headphones",
        "hs_code": "851830",
        "quantity": "1",
        "unit": "pcs",
        "value": "39.90",
        "origin_country": "CN",
        "gross_mass_kg": "0.4",
    }
    second = {
        "reference": "ORDER-1001",
        "description": "Cotton T-shirts for men",
        "hs_code": "610910",
        "quantity": "2",
        "unit": "pcs",
        "value": "12.50",
        "origin_country": "CN",
        "gross_mass_kg": "0.3",
    }
    for row in (first, second):
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue()


@dataclass
class Group:
    """One declaration's rows: their numbers in the file, the declaration's own cells (from its
    first row), and the declaration as data."""

    reference: str
    rows: list[int] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def _start_group(row: dict[str, str], number: int, seen: set[str]) -> Group:
    """A declaration read from its first row; its reference must not have come before."""
    reference = row.get("reference", "")
    group = Group(reference, header={k: row.get(k, "") for k in HEADER_COLUMNS})
    group.data = {**validation.header_data(group.header), "lines": []}
    if reference and reference in seen:
        group.errors.append(
            _error(
                number,
                reference,
                "reference",
                "not_together",
                _("The rows of %(ref)s must be next to each other in the file.")
                % {"ref": reference},
            )
        )
    seen.add(reference)
    return group


def _differences(group: Group, row: dict[str, str], number: int) -> list[dict[str, Any]]:
    """A later row of a declaration may repeat its own cells, or leave them empty."""
    return [
        _error(
            number,
            group.reference,
            name,
            "differs",
            _("This differs from the declaration's first row; leave it empty."),
        )
        for name in HEADER_COLUMNS
        if row.get(name) and row[name] != group.header[name]
    ]


def _unreadable(number: int) -> Group:
    return Group(
        "", [number], errors=[_error(number, "", "", "encoding", _("Save the file as UTF-8."))]
    )


def _not_csv(number: int) -> Group:
    message = _(
        "This row cannot be read as CSV: one of its cells is far too long (more than %(n)s "
        "characters), often because a quote is never closed."
    ) % {"n": f"{csv.field_size_limit():,}"}
    return Group("", [number], errors=[_error(number, "", "", "not_csv", message)])


def _column(path: str) -> str:
    if path.startswith("lines["):
        return path.partition("].")[2]
    return path.replace(".", "_")


def read_groups(handle: IO[bytes]) -> Iterator[Group]:
    """Declarations of a CSV file one at a time, with the errors found in reading them."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    except UnicodeDecodeError:
        yield _unreadable(1)
        return
    except csv.Error:
        yield _not_csv(1)
        return
    missing = [c for c in ("reference", *LINE_COLUMNS[:3]) if c not in header]
    if missing:
        message = _("The file has no column %(names)s; start from the template.") % {
            "names": ", ".join(missing)
        }
        yield Group("", [1], errors=[_error(1, "", "", "columns", message)])
        return
    seen: set[str] = set()
    group: Group | None = None
    number = 1
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            row = {
                name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)
            }
            if group is None or row.get("reference", "") != group.reference:
                if group is not None:
                    yield group
                group = _start_group(row, number, seen)
            else:
                group.errors += _differences(group, row, number)
            group.rows.append(number)
            group.data["lines"].append({k: row.get(k, "") for k in LINE_COLUMNS})
    except (UnicodeDecodeError, csv.Error) as error:
        if group is not None:
            yield group
        if isinstance(error, csv.Error):
            yield _not_csv(number + 1)
        else:
            yield _unreadable(number)
        return
    if group is not None:
        yield group


def _error(row: int, reference: str, column: str, code: str, message: str) -> dict[str, Any]:
    return {"row": row, "reference": reference, "column": column, "code": code, "message": message}


def check_group(group: Group, taken: set[str]) -> list[dict[str, Any]]:
    """Every error of one declaration, each placed on its row and column."""
    errors = list(group.errors)
    if not group.data:  # a row that could not be read: its own error says all there is
        return errors
    _cleaned, problems = validation.check(group.data, complete=True)
    if group.reference in taken:
        problems.append(validation.duplicate_reference(group.reference))
    for problem in problems:
        row = group.rows[0]
        if problem.field.startswith("lines["):
            index = int(problem.field[len("lines[") :].partition("]")[0])
            row = group.rows[index] if index < len(group.rows) else row
        errors.append(
            _error(row, group.reference, _column(problem.field), problem.code, problem.message)
        )
    return errors


def lock_upload(upload_id: int) -> CsvUpload:
    """The one way to lock an upload's row, with who sent it (the import acts as them)."""
    return lock_row(CsvUpload.objects.select_related("created_by", "created_by_key"), pk=upload_id)


def _batches(groups: Iterator[Group]) -> Iterator[list[Group]]:
    batch: list[Group] = []
    for group in groups:
        batch.append(group)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def upload_create(
    *, organisation: Organisation, file: Any, by: User | None, api_key: ApiKey | None
) -> CsvUpload:
    if file.size is None or file.size > settings.CSV_UPLOAD_MAX_BYTES:
        raise ServiceError(
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": megabytes(settings.CSV_UPLOAD_MAX_BYTES)},
            field="file",
            code="too_large",
        )
    upload = CsvUpload(
        organisation=organisation,
        original_name=str(file.name or "declarations.csv")[-200:],
        created_by=by,
        created_by_key=api_key,
    )
    with transaction.atomic():
        upload.file.save("declarations.csv", file, save=False)
        Actor(user=by, api_key=api_key).stamp(upload).save()
    return upload


def _inline(upload: CsvUpload) -> bool:
    return upload.file.size <= INLINE_BYTES


def upload_start(upload: CsvUpload) -> CsvUpload:
    """Check a small file now, a large one with a worker after commit."""
    if _inline(upload):
        return upload_check(upload.pk)
    enqueue_on_commit("declarations.check_csv_upload", upload.pk)
    return upload


def upload_import_start(upload: CsvUpload) -> CsvUpload:
    """Import a small file now, a large one with a worker after commit."""
    if _inline(upload):
        return upload_import(upload.pk)
    enqueue_on_commit("declarations.import_csv_upload", upload.pk)
    return upload


def upload_check(upload_id: int) -> CsvUpload:
    """Check every row of an upload, saving nothing but the errors and the counts."""
    upload = CsvUpload.objects.get(pk=upload_id)
    errors: list[dict[str, Any]] = []
    valid = invalid = rows = 0
    with upload.file.open("rb") as handle:
        for batch in _batches(read_groups(handle)):
            taken = selectors.references_taken(upload.organisation_id, [g.reference for g in batch])
            for group in batch:
                found = check_group(group, taken)
                rows += len(group.rows)
                if found:
                    invalid += 1
                    errors += found[: max(0, MAX_STORED_ERRORS - len(errors))]
                else:
                    valid += 1
            CsvUpload.objects.filter(pk=upload.pk).update(processed_rows=rows)
    CsvUpload.objects.filter(pk=upload.pk).update(
        state=CsvUpload.State.CHECKED,
        total_rows=rows,
        processed_rows=rows,
        valid_declarations=valid,
        invalid_declarations=invalid,
        errors=errors,
    )
    upload.refresh_from_db()
    return upload


def upload_confirm(*, upload: CsvUpload, only_valid: bool, actor: Actor) -> CsvUpload:
    """Record the filer's choice and move the upload on to importing."""
    with transaction.atomic():
        locked = lock_upload(upload.pk)
        if locked.state != CsvUpload.State.CHECKED:
            raise ServiceError(_("This file is not waiting for confirmation."), code="state")
        if locked.invalid_declarations and not only_valid:
            raise ServiceError(
                _("The file has errors: correct them, or submit only the valid declarations."),
                code="has_errors",
            )
        if not locked.valid_declarations:
            raise ServiceError(_("The file has no valid declaration to submit."), code="empty")
        locked.state = CsvUpload.State.IMPORTING
        locked.submit = only_valid
        locked.processed_rows = 0
        actor.stamp(locked).save(update_fields=["state", "submit", "processed_rows"])
    return locked


def upload_import(upload_id: int) -> CsvUpload:
    """Submit the confirmed declarations of a checked file, all in one transaction.

    A declaration that has become invalid since the check (its reference used meanwhile)
    stops the import of a whole-file choice; with "only the valid ones" it is left out.
    The upload's row stays locked throughout, so a second run waits and then does nothing.
    """
    with transaction.atomic():
        upload = lock_upload(upload_id)
        if upload.state != CsvUpload.State.IMPORTING:
            return upload
        try:
            with transaction.atomic():
                upload.imported_declarations = _import(upload)
        except ServiceError as error:
            upload.state = CsvUpload.State.FAILED
            upload.failure = error.message[:500]
        else:
            upload.state = CsvUpload.State.IMPORTED
            upload.processed_rows = upload.total_rows
        upload.save(update_fields=["state", "failure", "imported_declarations", "processed_rows"])
    return upload


def _import(upload: CsvUpload) -> int:
    only_valid = upload.submit
    actor = Actor(user=upload.created_by, api_key=upload.created_by_key)
    organisation = Organisation.objects.get(pk=upload.organisation_id)
    imported = rows = 0
    with upload.file.open("rb") as handle:
        for batch in _batches(read_groups(handle)):
            taken = selectors.references_taken(upload.organisation_id, [g.reference for g in batch])
            chosen = []
            for group in batch:
                rows += len(group.rows)
                if check_group(group, taken):
                    if not only_valid:
                        raise ServiceError(
                            _("Declaration %(ref)s has errors now; nothing was saved.")
                            % {"ref": group.reference},
                            code="changed",
                        )
                    continue
                chosen.append(group.data)
            if chosen:
                outcomes = services.declarations_create(
                    organisation=organisation, items=chosen, submit=True, actor=actor
                )
                imported += sum(1 for o in outcomes if o.declaration is not None)
            _progress(upload.pk, rows)
    return imported


def _progress_key(upload_id: int) -> str:
    return f"declarations:csv-import-progress:{upload_id}"


def _progress(upload_id: int, rows: int) -> None:
    # In the cache, not the row: the import's own transaction commits only at the end.
    cache.set(_progress_key(upload_id), rows, timeout=6 * 3600)


def progress_rows(upload: CsvUpload) -> int:
    """Rows done so far: checking writes them on the row, importing in the cache."""
    if upload.state == CsvUpload.State.IMPORTING:
        return int(cache.get(_progress_key(upload.pk), 0))
    return upload.processed_rows


def progress_percent(upload: CsvUpload) -> int:
    if upload.state in (CsvUpload.State.IMPORTED, CsvUpload.State.CHECKED):
        return 100
    if not upload.total_rows:
        return 0
    return min(100, progress_rows(upload) * 100 // upload.total_rows)


def error_report(upload: CsvUpload) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "reference", "column", "code", "message"])
    for error in upload.errors:
        writer.writerow(
            [csv_cell(error[k]) for k in ("row", "reference", "column", "code", "message")]
        )
    return out.getvalue()
