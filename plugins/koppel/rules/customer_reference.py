"""Orders wait until their customer has a valid ERP reference (seed 004: "Customers without a
valid IP Soft customer reference will block the order export")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from koppel.documents import Order, Problem, Severity

#: An IPSoft customer number: ``C`` and five digits.
IPSOFT_CUSTOMER_REFERENCE = re.compile(r"^C\d{5}$")


@dataclass(frozen=True)
class ReferenceDecision:
    """Whether the order may go out now, and with which customer reference."""

    order: Order | None
    """The order to export (with the reference to use), or None while it waits."""
    notes: tuple[Problem, ...]


def check_customer_reference(order: Order, current: str | None = None) -> ReferenceDecision:
    """Let the order out when its customer has a valid reference; otherwise hold it.

    Args:
        order: the order as the portal sent it.
        current: the customer's reference as the portal knows it now, when the
            caller could ask: a reference fixed after the order was received
            releases the order on the next run.
    """
    received = order.buyer.erp_reference if order.buyer else None
    reference = current if current is not None else received
    customer = (order.buyer.name or order.buyer.id) if order.buyer else None
    if reference and IPSOFT_CUSTOMER_REFERENCE.match(reference):
        notes: tuple[Problem, ...] = ()
        if reference != received and order.buyer is not None:
            notes = (
                Problem(
                    code="customer.reference_fixed",
                    severity=Severity.INFO,
                    message=f"customer {customer} now has ERP reference {reference}; exporting",
                    field="buyer.erp_reference",
                ),
            )
            order = order.model_copy(
                update={"buyer": order.buyer.model_copy(update={"erp_reference": reference})}
            )
        return ReferenceDecision(order, notes)
    why = (
        "has no ERP customer reference"
        if not reference
        else f"has an invalid ERP reference {reference!r}"
    )
    return ReferenceDecision(
        None,
        (
            Problem(
                code="customer.reference_missing",
                severity=Severity.WARNING,
                message=(
                    f"order {order.order_id} waits: customer {customer} {why} (expected C and five "
                    "digits); it is exported on the first run after the reference is fixed"
                ),
                field="buyer.erp_reference",
            ),
        ),
    )
