"""What people do in Le New Black itself, not through the API: the test and demo helpers.

Price lists are configured by the account manager, customers and orders are
made by sales reps; Koppel never creates them, so the emulator needs a way to
put them in place before a test or the demo runs. A mixin, so the server keeps
offering them as its own methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from koppel.sandbox.lenewblack.api import LeNewBlackApi
from koppel.sandbox.lenewblack.state import LineInput, StoredOrder, Versioned, order_lines


class LeNewBlackPortal:
    """Edits the state of ``self.api`` as a Le New Black user would."""

    api: LeNewBlackApi

    def add_price_list(self, price_list_id: str, name: str, currency: str = "EUR") -> None:
        """Configure a price list, as the account manager does in Le New Black."""
        self.api.state.price_lists[price_list_id] = {
            "id": price_list_id,
            "name": name,
            "currency": currency,
        }

    def add_customer(
        self,
        customer_id: str,
        name: str,
        *,
        erp_reference: str | None = None,
        billing_address: Mapping[str, Any] | None = None,
        price_list_id: str | None = None,
        currency: str = "EUR",
    ) -> Versioned:
        """Create a customer in Le New Black itself (a sales rep's), with the reference given."""
        record = Versioned(
            {
                "id": customer_id,
                "name": name,
                "currency": currency,
                "price_list_id": price_list_id,
                "billing_address": dict(billing_address) if billing_address else None,
                "buyers": [],
                "erp_reference": erp_reference,
            },
            version=0,
        )
        self.api.state.customers[customer_id] = record
        return record

    def add_order(
        self,
        reference: str,
        *,
        customer_id: str,
        lines: Sequence[LineInput],
        status: str = "confirmed",
        currency: str = "EUR",
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        delivery_address: Mapping[str, Any] | None = None,
        remarks: str | None = None,
    ) -> StoredOrder:
        """Place an order for an existing customer; ``lines`` are (SKU, quantity, unit price).

        The delivery address defaults to the customer's name and billing address.
        """
        if customer_id not in self.api.state.customers:
            raise KeyError(f"add the customer {customer_id!r} before its orders")
        created = created_at or datetime.now(UTC)
        order = StoredOrder(
            reference=reference,
            customer_id=customer_id,
            status=status,
            created_at=created,
            updated_at=updated_at or created,
            currency=currency,
            lines=order_lines(lines),
            delivery_address=(
                dict(delivery_address) if delivery_address else self._default_delivery(customer_id)
            ),
            remarks=remarks,
        )
        self.api.state.orders[reference] = order
        return order

    def change_order(
        self,
        reference: str,
        *,
        lines: Sequence[LineInput] | None = None,
        remarks: str | None = None,
        at: datetime | None = None,
    ) -> StoredOrder:
        """Change an order in Le New Black (e.g. after its export), moving its ``updated_at``."""
        order = self.api.state.orders[reference]
        if lines is not None:
            order.lines = order_lines(lines)
        if remarks is not None:
            order.remarks = remarks
        order.updated_at = at or datetime.now(UTC)
        return order

    def _default_delivery(self, customer_id: str) -> dict[str, Any] | None:
        customer = self.api.state.customers[customer_id].body
        address = customer.get("billing_address")
        return {"name": customer["name"], **address} if address else None
