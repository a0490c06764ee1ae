"""CSV in and out: streamed exports, and reading a list of addresses from an upload."""

import csv
import io
import logging
from collections.abc import Iterable

from defusedcsv import csv as defused_csv
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# What one preview reads at the most: about what 2 MB of addresses holds, previewed in a few
# seconds (a request has 30 s under gunicorn). It is not the member limit: a file may list
# current members, duplicates and bad lines, and confirming the preview refuses to take a
# group beyond its 10,000 members.
MAX_UPLOAD_LINES = 50_000
ADDRESS_COLUMNS = {"email", "e-mail", "mail", "address", "adresse", "adresse e-mail"}

log = logging.getLogger(__name__)


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer to stream."""

    def write(self, value):
        return value


def streamed_csv(filename: str, header: list[str], rows: Iterable) -> StreamingHttpResponse:
    """Rows are written as they are produced: a 10,000-member group is never held in
    memory. A BOM first, so that spreadsheet software reads the accents right. A cell that
    a spreadsheet would run as a formula (a group named "=HYPERLINK(...)") is written as
    text, with a leading quote (defusedcsv)."""
    writer = defused_csv.writer(_Echo(), delimiter=";")

    def lines():
        yield "\ufeff" + writer.writerow(header)
        try:
            for row in rows:
                yield writer.writerow(row)
        except Exception:
            # The 200 is already sent: the file itself must say it stops short, or it would
            # pass for the whole list.
            log.exception("CSV export %s failed part-way", filename)
            yield writer.writerow([_("Export incomplete: an error occurred. Try again.")])

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
    text = _decoded(raw)
    if text is None or "\x00" in text:
        raise UnreadableFile(_("This is not a CSV text file."))
    if text.count("\n") > MAX_UPLOAD_LINES:
        raise UnreadableFile(_("The file has more than %(max)d lines.") % {"max": MAX_UPLOAD_LINES})
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)
        ]
    except csv.Error as exc:  # a field over the csv module's limit, a stray quote...
        raise UnreadableFile(_("This is not a CSV text file.")) from exc
    if not rows:
        raise UnreadableFile(_("The file is empty."))
    header = [c.strip().lower() for c in rows[0]]
    column = next((i for i, name in enumerate(header) if name in ADDRESS_COLUMNS), None)
    if column is None:
        column = 0
    else:
        rows = rows[1:]
    return [row[column].strip() if len(row) > column else "" for row in rows]


def _decoded(raw: bytes) -> str | None:
    """The text of the file in UTF-8 (with or without BOM), else Windows' Western
    encoding; None when it is neither (a binary file, another encoding)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
