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
