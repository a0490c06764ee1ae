"""CSV in and out: streamed exports, and reading a list of addresses from an upload."""

import csv
import io
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
ADDRESS_COLUMNS = {"email", "e-mail", "mail", "address", "adresse", "adresse e-mail"}


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer to stream."""

    def write(self, value):
        return value


def streamed_csv(filename: str, header: list[str], rows: Iterable) -> StreamingHttpResponse:
    """Rows are written as they are produced: a 10,000-member group is never held in
    memory. A BOM first, so that spreadsheet software reads the accents right."""
    writer = csv.writer(_Echo(), delimiter=";")

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class UnreadableFile(ValueError):
    pass


def read_addresses(upload) -> list[str]:
    """The addresses of an uploaded CSV: the column named like an address, or the first."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise UnreadableFile(_("The file is larger than 2 MB."))
    raw = upload.read()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if "\x00" in text:
        raise UnreadableFile(_("This is not a CSV text file."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]
    if not rows:
        raise UnreadableFile(_("The file is empty."))
    header = [c.strip().lower() for c in rows[0]]
    column = next((i for i, name in enumerate(header) if name in ADDRESS_COLUMNS), None)
    if column is None:
        column = 0
    else:
        rows = rows[1:]
    return [row[column].strip() if len(row) > column else "" for row in rows]
