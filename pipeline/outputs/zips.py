"""Zips (xlsx, docx) re-packed with fixed entry times, so that equal content gives equal bytes.
Apart from the workbook writers: the Word report needs it too, without importing openpyxl
(a seventh of a second in the Word helper, on the way of every run)."""

from __future__ import annotations

import io
import re
import zipfile

FIXED_ZIP_TIME = (2016, 12, 5, 0, 0, 0)


def fixed_zip_times(data: bytes, modified: bool = True) -> bytes:
    """Re-pack a zip (xlsx, docx) with fixed entry times so equal content gives equal bytes;
    with `modified`, docProps' dcterms:modified fixed too (False: a time set on purpose)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml" and modified:
                # openpyxl stamps the save time into dcterms:modified whatever was set
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2016-12-05T00:00:00Z\g<2>", body)
            dst.writestr(fixed, body)
    return out.getvalue()


def docx_with_fixed_times(document, modified: bool = True) -> bytes:
    """A python-docx Document saved as its own save() would, in one pass, with fixed_zip_times'
    entry times (and, with `modified`, its dcterms:modified): not saved and then packed again,
    which inflated and deflated the whole report a second time (a sixth of the Word report's
    time). The parts are python-docx's own, in its order: [Content_Types].xml, the package's
    relationships, then each part and its relationships."""
    from docx.opc.packuri import CONTENT_TYPES_URI, PACKAGE_URI
    from docx.opc.pkgwriter import _ContentTypesItem

    package = document.part.package
    parts = list(package.parts)
    for part in parts:
        part.before_marshal()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:

        def write(uri, body: bytes) -> None:
            entry = zipfile.ZipInfo(uri.membername, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16  # what zipfile gives an entry written by name
            if modified and uri.membername == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2016-12-05T00:00:00Z\g<2>", body)
            dst.writestr(entry, body)

        write(CONTENT_TYPES_URI, _ContentTypesItem.from_parts(parts).blob)
        write(PACKAGE_URI.rels_uri, package.rels.xml)
        for part in parts:
            write(part.partname, part.blob)
            if len(part.rels):
                write(part.partname.rels_uri, part.rels.xml)
    return out.getvalue()
