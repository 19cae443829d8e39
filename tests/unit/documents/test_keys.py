"""Document keys: what deliveries are named and de-duplicated by; no two documents share one."""

from __future__ import annotations

from koppel.documents import Order
from koppel.documents.keys import document_key
from koppel.documents.status import ReturnRegistration


def test_two_returns_of_one_order_have_keys_of_their_own() -> None:
    """A second return of an order is a new return, not a duplicate of the first delivery."""
    first = ReturnRegistration(return_id="R5001", order_id="100231")
    second = ReturnRegistration(return_id="R5002", order_id="100231")

    assert (document_key(first), document_key(second)) == ("R5001", "R5002")


def test_an_order_is_keyed_by_its_number() -> None:
    assert document_key(Order(order_id="100231")) == "100231"
