import copy
import re
import zlib

from clearance.pdf import render_pdf


def test_a_pdf_renders_latin_and_korean_text(tmp_path, settings):
    (tmp_path / "sample.html").write_text(
        '{% extends "pdf/base.html" %}{% block content %}<h1>Release notice</h1>'
        "<p>{{ consignee }}</p>{% endblock %}"
    )
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], tmp_path]
    settings.TEMPLATES = templates  # assigning (not mutating) resets the template engines
    pdf = render_pdf("sample.html", {"consignee": "김민수"}, language="ko")
    assert pdf.startswith(b"%PDF-")
    # The Korean name is drawn with a CJK font embedded in the file, not as missing glyphs.
    assert b"-CJK-" in b"".join(inflated_streams(pdf))


def inflated_streams(pdf: bytes) -> list[bytes]:
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out
