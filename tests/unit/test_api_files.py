"""The file name a person uploaded, as a download header: never broken, never injected into."""

from __future__ import annotations

import pytest

from deployments.api.files import disposition

pytestmark = pytest.mark.unit


def test_a_name_with_quotes_accents_and_semicolons_is_kept_exact_and_safe():
    header = disposition('proposta nº 3; "revisão".pdf\r\nX-Evil: 1')
    assert "\r" not in header and "\n" not in header and header.count('"') == 2
    assert header.startswith('attachment; filename="proposta_n__3___revis_o_.pdf__X-Evil__1"')
    assert "filename*=UTF-8''proposta%20n%C2%BA%203%3B%20%22revis%C3%A3o%22.pdf%0D%0AX-Evil%3A%201" in header
    assert disposition("") == "attachment; filename=\"arquivo\"; filename*=UTF-8''"
