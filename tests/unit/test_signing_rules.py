"""Who signs a consolidated document, in which order, and where (models/signing_rules.py)."""

import pytest

from models.errors import ConflictError, ForbiddenError
from models.signing_rules import APPROVED, PREPARED, check_may_sign, next_signer, signature_box, signing_order

RESPONSIBLES = {
    "prepared_by": [("Ana Planejadora", "1234567"), ("Bruno Revisor", "7654321")],
    "approved_by": ("Carla Secretária", "autoridade.mgi"),
}


def test_the_order_is_who_prepared_then_who_approved():
    order = signing_order(RESPONSIBLES)
    assert [(s.seq, s.identifier, s.role) for s in order] == [
        (1, "1234567", PREPARED),
        (2, "7654321", PREPARED),
        (3, "autoridade.mgi", APPROVED),
    ]
    assert [s.role_label for s in order] == ["Elaboração", "Elaboração", "Aprovação"]
    assert signing_order({"prepared_by": [], "approved_by": None}) == []


def test_the_next_signer_is_the_first_who_has_not_signed():
    order = signing_order(RESPONSIBLES)
    assert next_signer(order, []).identifier == "1234567"
    assert next_signer(order, ["1234567"]).identifier == "7654321"
    assert next_signer(order, ["1234567", "7654321", "autoridade.mgi"]) is None


def test_each_named_person_signs_in_order():
    order = signing_order(RESPONSIBLES)
    assert check_may_sign("consolidado", order, [], "1234567").seq == 1
    assert check_may_sign("consolidado", order, ["1234567", "7654321"], "autoridade.mgi").seq == 3


@pytest.mark.parametrize(
    ("status", "signed", "person", "error", "words"),
    [
        ("consolidado", [], "9999999", ForbiddenError, "não está entre as pessoas"),
        ("consolidado", [], "autoridade.outro", ForbiddenError, "art. 12, VI"),
        ("consolidado", [], "7654321", ConflictError, "próxima assinatura é de Ana Planejadora"),
        ("consolidado", ["1234567"], "autoridade.mgi", ConflictError, "Bruno Revisor"),
        ("consolidado", ["1234567"], "1234567", ConflictError, "já assinou"),
        ("aprovado", [], "1234567", ConflictError, "Só um documento consolidado"),
        ("assinado", ["1234567", "7654321", "autoridade.mgi"], "1234567", ConflictError, "consolidado"),
    ],
)
def test_refusals_say_why(status, signed, person, error, words):
    with pytest.raises(error) as refused:
        check_may_sign(status, signing_order(RESPONSIBLES), signed, person)
    assert words in refused.value.message


@pytest.mark.parametrize("total", [1, 2, 3, 8, 9, 16])
def test_signature_boxes_fit_the_page_and_never_overlap(total):
    boxes = [signature_box(i, total) for i in range(total)]
    for x1, y1, x2, y2 in boxes:
        assert 0 < x1 < x2 <= 595 and 0 < y1 < y2 <= 760  # below the page's heading
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_more_signers_than_the_page_holds_is_refused():
    with pytest.raises(ValueError, match="até 16"):
        signature_box(0, 17)
