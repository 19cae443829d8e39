"""Parties: customers, suppliers, buyers and their addresses."""

from __future__ import annotations

from pydantic import Field

from koppel.documents.base import CanonicalModel


class Address(CanonicalModel):
    """A postal address; country is an ISO 3166-1 alpha-2 code."""

    name: str | None = None
    street: str | None = None
    house_number: str | None = None
    house_number_addition: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class Contact(CanonicalModel):
    """A person at a party: a buyer in the B2B portal, the recipient of a parcel."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    role: str | None = None


class PartyIdentifier(CanonicalModel):
    """An identifier under a scheme: GLN, SCSN id, VAT, chamber of commerce, ERP number."""

    value: str
    scheme: str | None = None


class Party(CanonicalModel):
    """A customer, supplier, buyer or delivery party.

    ``id`` is the identifier in the source system; ``erp_reference`` is the
    party's number in the ERP, which an order export needs (seed 004).
    """

    id: str | None = None
    name: str | None = None
    erp_reference: str | None = None
    identifiers: list[PartyIdentifier] = Field(default_factory=list)
    vat_number: str | None = None
    language: str | None = None
    address: Address | None = None
    billing_address: Address | None = None
    contacts: list[Contact] = Field(default_factory=list)
    price_list_id: str | None = None
    currency: str | None = None
    endpoint_id: PartyIdentifier | None = None
    """The party's electronic address and its scheme (UBL ``cbc:EndpointID``, GLN ``0088``)."""
    customer_assigned_account_id: str | None = None
    """The party's account number as the customer assigned it (UBL
    ``CustomerAssignedAccountID``)."""
    supplier_assigned_account_id: str | None = None
    """The party's account number as the supplier assigned it (UBL
    ``SupplierAssignedAccountID``)."""

    def identifier(self, scheme: str) -> str | None:
        """The party's identifier under ``scheme``, if it has one."""
        return next((i.value for i in self.identifiers if i.scheme == scheme), None)
