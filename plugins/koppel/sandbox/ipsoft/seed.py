"""Demo data for the emulated IPSoft: a Dutch fashion wholesaler.

The catalogue is made awkward on purpose, so the demo and the Le New Black
flow tests meet what real IPSoft data holds: articles without an EAN13, one
with a wrong check digit, one without a SKU, a price in a list the portal is
not configured with, and a customer number no state holds. Its chart of
accounts holds every account Koppel's default ledger postings use.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from koppel.rules.financial_mutation import DEFAULT_ACCOUNTS
from koppel.sandbox.ipsoft.clock import now, utc
from koppel.sandbox.ipsoft.documents import Account
from koppel.sandbox.ipsoft.records import (
    Address,
    Buyer,
    Customer,
    Price,
    PriceList,
    Product,
    StockItem,
)
from koppel.sandbox.ipsoft.state import IPSoftState

#: A customer number no IPSoft state holds: what a portal customer with a stale reference has.
UNKNOWN_CUSTOMER_NUMBER = "C99999"


#: The demo company's chart: every account of Koppel's ``DEFAULT_ACCOUNTS``, cash, bank and
#: the rounding account a demo connection books on instead of 8999.
DEMO_ACCOUNTS: tuple[Account, ...] = (
    Account("1000", "Kas"),
    Account("1100", "Bank"),
    Account(DEFAULT_ACCOUNTS.debtor, "Debiteuren"),
    Account(DEFAULT_ACCOUNTS.tax_payable["21"], "Af te dragen btw hoog tarief"),
    Account(DEFAULT_ACCOUNTS.tax_payable["9"], "Af te dragen btw laag tarief"),
    Account(DEFAULT_ACCOUNTS.revenue["21"], "Omzet hoog tarief"),
    Account(DEFAULT_ACCOUNTS.revenue["9"], "Omzet laag tarief"),
    Account(DEFAULT_ACCOUNTS.revenue["0"], "Omzet nultarief"),
    Account(DEFAULT_ACCOUNTS.revenue_by_kind["shipping"], "Verzendkosten"),
    Account(DEFAULT_ACCOUNTS.revenue_by_kind["fee"], "Vergoedingen"),
    Account(DEFAULT_ACCOUNTS.discounts or "8300", "Kortingen"),
    Account(DEFAULT_ACCOUNTS.rounding, "Afrondingsverschillen"),
    # Koffiebar Noord's bookkeeper keeps the webshop's rounding apart (webshop_koffiebar.yaml).
    Account("8990", "Afrondingsverschillen webshop"),
)


def ean13(first_twelve: str) -> str:
    """Append the GS1 check digit to twelve digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


def seed_demo(state: IPSoftState, *, at: datetime | None = None) -> IPSoftState:
    """Fill ``state`` with a Dutch fashion wholesaler's catalogue and customers.

    The data holds what the Le New Black flows must cope with: articles
    without an EAN13, one whose EAN13 has a wrong check digit, one without a
    SKU, and a price in the list ``OUTLET-EUR`` that Le New Black is not
    configured with. :data:`UNKNOWN_CUSTOMER_NUMBER` is deliberately absent.
    Records are stamped a minute apart from ``at`` (default: a day ago).
    The chart of accounts is :data:`DEMO_ACCOUNTS`.
    """
    for account in DEMO_ACCOUNTS:
        state.add_account(account)
    start = utc(at or now() - timedelta(days=1))
    moments = (start + timedelta(minutes=i) for i in range(10_000))
    for price_list in (
        PriceList("WHOLESALE-EUR", "Groothandel EUR", "EUR"),
        PriceList("RETAIL-EUR", "Adviesverkoopprijs EUR", "EUR"),
        PriceList("OUTLET-EUR", "Outlet EUR", "EUR"),
    ):
        state.add_price_list(price_list)
    for customer in _demo_customers():
        state.put(customer, at=next(moments))
    for product in _demo_products():
        state.put(product, at=next(moments))
        if product.sku is None:
            continue
        wholesale = _DEMO_PRICES.get(product.sku.split("-")[0], Decimal("29.95"))
        state.put(Price("WHOLESALE-EUR", product.sku, "EUR", wholesale), at=next(moments))
        retail = (wholesale * Decimal("2.2")).quantize(Decimal("0.01"))
        state.put(Price("RETAIL-EUR", product.sku, "EUR", retail), at=next(moments))
        state.put(
            StockItem(product.sku, Decimal(len(product.sku) % 7 * 4), "ZAANDAM"), at=next(moments)
        )
    outlet = Price(
        "OUTLET-EUR", "NZ2401-NAVY-M", "EUR", Decimal("19.95"), valid_from=date(2025, 1, 1)
    )
    state.put(outlet, at=next(moments))
    return state


_BRAND, _SEASON = "Noordzee Atelier", "SS25"
_DEMO_PRICES = {"NZ2401": Decimal("34.50"), "NZ2402": Decimal("59.00"), "NZ2403": Decimal("22.75")}


def _demo_customers() -> list[Customer]:
    return [
        Customer(
            number="C10023",
            name="Boutique Lotte",
            currency="EUR",
            vat_number="NL854502130B01",
            email="inkoop@boutiquelotte.nl",
            phone="+31 20 623 4567",
            language="nl",
            price_list_id="WHOLESALE-EUR",
            billing_address=Address("Haarlemmerstraat", "112", "1013 EX", "Amsterdam", "NL", "A"),
            buyers=(Buyer("Lotte de Vries", "lotte@boutiquelotte.nl", "+31 6 1234 5678"),),
        ),
        Customer(
            number="C10031",
            name="Modehuis Van Dijk",
            currency="EUR",
            vat_number="NL001234567B02",
            email="administratie@modehuisvandijk.nl",
            language="nl",
            price_list_id="WHOLESALE-EUR",
            billing_address=Address("Lange Elisabethstraat", "9", "3511 JC", "Utrecht", "NL"),
            buyers=(
                Buyer("Pieter van Dijk", "pieter@modehuisvandijk.nl"),
                Buyer("Sanne Bakker", "sanne@modehuisvandijk.nl", "+31 30 231 0099"),
            ),
        ),
        Customer(
            number="C10047",
            name="Maison Claes",
            currency="EUR",
            vat_number="BE0417497106",
            email="achats@maisonclaes.be",
            language="fr",
            billing_address=Address("Rue Neuve", "45", "1000", "Bruxelles", "BE"),
        ),
    ]


def _demo_products() -> list[Product]:
    tees = [
        Product(
            article_id=f"A{100 + i}",
            sku=f"NZ2401-NAVY-{size}",
            ean13=ean13(f"87123450{100 + i:04d}"),
            name=f"Linnen T-shirt navy {size}",
            description="T-shirt van gewassen linnen, losse pasvorm",
            category="Tops",
            colour="Navy",
            size=size,
            composition="100% linnen",
            brand=_BRAND,
            season=_SEASON,
        )
        for i, size in enumerate(("S", "M", "L"))
    ]
    trousers = [
        Product(
            article_id=f"A{200 + i}",
            sku=f"NZ2402-SAND-{size}",
            ean13=None if size in ("30", "32") else ean13(f"87123450{200 + i:04d}"),
            name=f"Chino zand {size}",
            category="Broeken",
            colour="Zand",
            size=size,
            composition="98% katoen, 2% elastaan",
            brand=_BRAND,
            season=_SEASON,
        )
        for i, size in enumerate(("30", "32", "34"))
    ]
    bad_ean = ean13("871234503001")[:-1] + str((int(ean13("871234503001")[-1]) + 1) % 10)
    odd = [
        Product(
            article_id="A300",
            sku="NZ2403-OKER-OS",
            ean13=bad_ean,
            name="Sjaal oker",
            category="Accessoires",
            colour="Oker",
            size="One size",
            composition="100% wol",
            brand=_BRAND,
            season=_SEASON,
        ),
        Product(
            article_id="A301",
            sku=None,
            ean13=ean13("871234503018"),
            name="Tas canvas (nog geen artikelnummer)",
            category="Accessoires",
            colour="Naturel",
            brand=_BRAND,
            season=_SEASON,
        ),
    ]
    return tees + trousers + odd
