"""The usage ledger as CSV, streamed: rows are read in chunks and written as they go, so memory stays flat."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, date, timedelta

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from accounts.models import Organization
from billing import selectors

COLUMNS = ["time", "generation_id", "end_user_id", "resolution", "seconds", "unit_price", "cost", "kind"]
CHUNK_SIZE = 2000  # rows fetched per database round trip (a server-side cursor on PostgreSQL)
ROWS_PER_WRITE = 500  # rows joined into one piece of the response body
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str | None) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character is neutralised with `'`."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _row(record: tuple) -> list[str]:
    completed_at, kind, source_id, adjusted_source_id, end_user_id, resolution, seconds, unit_price, amount = record
    generation_id = source_id or adjusted_source_id
    return [
        completed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "" if generation_id is None else str(generation_id),
        text_cell(end_user_id),
        text_cell(resolution),
        str(int(seconds)),
        f"{unit_price:.4f}",
        f"{amount:.4f}",  # numbers we write ourselves; a refund's is negative and stays a number
        kind,
    ]


class _Echo:
    """csv.writer writes into this and gets the line back, so nothing accumulates."""

    def write(self, value: str) -> str:
        return value


def usage_csv(records: QuerySet | Iterable[tuple], *, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """The header, then one line per record; `records` is read with `.iterator(chunk_size)` when it can be."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(COLUMNS)
    rows = records.iterator(chunk_size=chunk_size) if isinstance(records, QuerySet) else records
    pending: list[str] = []
    for record in rows:
        pending.append(writer.writerow(_row(record)))
        if len(pending) >= ROWS_PER_WRITE:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)


def filename(*, start: date, end: date) -> str:
    return f"usage-{start.isoformat()}-to-{end.isoformat()}.csv"


def usage_csv_response(*, organization: Organization, start: date, end: date) -> StreamingHttpResponse:
    """The streamed CSV of the UTC days [start, end]: the API's export and the billing page's "Download CSV"."""
    records = selectors.usage_export_records(organization=organization, start=start, end=end + timedelta(days=1))
    response = StreamingHttpResponse(usage_csv(records), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(start=start, end=end)}"'
    response["Cache-Control"] = "private, no-store"
    return response
