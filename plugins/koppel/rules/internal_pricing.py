"""Seed 003's pricing: internal orders between two stores at the average purchase price.

Seed 003 (Finnish; SPEC.md section 6) describes a POS and webshop ERP with one
database per store. A store's purchase order to a supplier whose message format
is ``UBL2.0SIS`` goes out as a UBL 2.0 order with ``cbc:OrderTypeCode``
``UBL2.0SIS`` ("Toimittajan UBL sanomiin lisätty sanomavalinta UBL2.0SIS
(sisäinen). Tämä tieto laitetaan sanomassa tagiin OrderTypeCode."), either when
the order is posted or in a batch run ("joko tilauksen kirjauksesta tai
eräajona"): :func:`purchase_order_message`.

The other store reads it (:func:`price_order`): "Kun MT lukee UBL2 sanoman,
tarkistetaan onko ko tagi olemassa ja sen sisältö. Jos tagi on olemassa ja
oikeaa muotoa, muodostetaan sisäinen myyntitilaus (ei generoida myyntiä) jolle
myynti- ja ostohinta haetaan tuotteen tilauksen vastaanottavan kannan
keskiostohinnasta. Jos keskiostohintaa tai ostohintaa ei ole käytetään
sanomassa tulevaa verotonta ostohintaa hinnan muodostuksessa. Muissa
sanomamuodoissa käytetään hinnan muodostusta hinnanhakurutiinien mukaan." —
when the tag is there and of the right form, an internal sales order (no sale
recorded) whose sales and purchase price are the product's average purchase
price in the receiving database; without an average purchase price or purchase
price, the tax-exclusive purchase price in the message; any other message takes
the normal price lookup.

Decisions taken where the seed is silent (each tested):

* "The right form" is exactly ``UBL2.0SIS`` once the surrounding whitespace is
  trimmed (XML whitespace around a token is not content). A near miss — the
  code's letters and digits, case-folded, starting with ``ubl`` or ending with
  ``sis`` (``ubl2.0sis``, ``UBL2.0``, ``UBL 2.0 SIS``, ``UBL2.1SIS``) — is
  *malformed*: the order is priced normally, as the seed says, and a warning
  says why, because a store that meant an internal order should hear that it
  was not taken as one.
* The fallback order is average purchase price, then the product's purchase
  price ("keskiostohintaa tai ostohintaa"), then the message.
* The message's tax-exclusive price is the line's price after line discounts:
  ``LineExtensionAmount / quantity`` when the line states its amount (UBL
  defines it as net of the line's allowances and excluding tax), else the unit
  price. It is what the ordering store expects to pay per unit. Order-level
  allowances and charges are not spread over the lines.
* A normal order's purchase price (the line's cost) is the average purchase
  price, else the purchase price, else 0 with a warning.
* Line amounts are quantity times price, rounded half up to the currency's
  minor unit (ISO 4217: 0 for JPY, 3 for KWD, else 2); prices are kept as found.

Every rule is a pure function: the caller reads the master data
(:mod:`koppel.rules.store_master_data`) and writes what is decided.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from koppel.documents import (
    Address,
    Order,
    OrderLine,
    Party,
    PartyIdentifier,
    PriceSource,
    Problem,
    Severity,
    StoreSalesOrder,
    StoreSalesOrderLine,
    has_errors,
)

# Re-exported: peppol_ordering and older callers import it from here.
from koppel.rules.money import currency_decimals as currency_decimals  # noqa: PLC0414
from koppel.rules.store_master_data import (
    PurchaseOrderData,
    PurchaseOrderLineData,
    SalesMasterData,
    StoreParty,
    StoreProduct,
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO

#: The order type code that marks an internal order between two stores ("sisäinen").
INTERNAL_ORDER_TYPE_CODE = "UBL2.0SIS"

#: The UBL version internal orders are written in ("Sanoma on tällöin formaattia 2.0 standardi").
INTERNAL_UBL_VERSION = "2.0"

#: The supplier message format whose purchase orders go out as internal UBL orders.
INTERNAL_MESSAGE_FORMAT = "UBL2.0SIS"

#: Scheme ids of the identifiers written (ISO 6523 ICD, as Peppol uses them).
GLN_SCHEME = "0088"
GTIN_SCHEME = "0160"

#: A price computed from a line amount is kept to this many decimals.
MESSAGE_PRICE_DECIMALS = 4

_ZERO = Decimal(0)
_ALNUM = re.compile(r"[^0-9a-z]")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class OrderKind(StrEnum):
    """How an order's type code makes it priced."""

    INTERNAL = "internal"
    """``OrderTypeCode`` is ``UBL2.0SIS``: an internal order at the average purchase price."""
    MALFORMED_INTERNAL = "malformed_internal"
    """A near miss of ``UBL2.0SIS``: priced normally, with a warning."""
    NORMAL = "normal"
    """Any other order: the normal price lookup."""


@dataclass(frozen=True)
class SalesOrderDecision:
    """What pricing one incoming order decided.

    Attributes:
        sales_order: The sales order to create; None when any problem is an error.
        problems: Every error and warning found, and an INFO problem per
            decision taken (the order's kind, each line's price source).
        lines: Per message line, in order: the line as priced, or None where
            its product or price was not found. Filled also when the order is
            refused, so an answer can name what each line would have cost.
    """

    sales_order: StoreSalesOrder | None
    problems: list[Problem]
    lines: tuple[StoreSalesOrderLine | None, ...] = ()


@dataclass(frozen=True)
class ExportDecision:
    """What a purchase order gives as an outgoing message.

    Attributes:
        order: The UBL order to send; None when the purchase order is not sent
            (not posted, or the supplier takes no ``UBL2.0SIS`` messages) or
            cannot be (an error among the problems).
        problems: Why not (INFO when it is simply not for this flow, ERROR when
            the purchase order is wrong), and warnings on what was left out.
    """

    order: Order | None
    problems: list[Problem]


# --- The order's kind ------------------------------------------------------------------------


def order_kind(order: Order) -> OrderKind:
    """Whether the order is internal, a malformed internal one, or a normal one.

    See the module docstring for what "the right form" and a near miss are.
    """
    code = order.order_type_code
    if code is None:
        return OrderKind.NORMAL
    if code.strip() == INTERNAL_ORDER_TYPE_CODE:
        return OrderKind.INTERNAL
    folded = _ALNUM.sub("", code.casefold())
    if folded.startswith("ubl") or folded.endswith("sis"):
        return OrderKind.MALFORMED_INTERNAL
    return OrderKind.NORMAL


def is_internal_order(order: Order) -> bool:
    """The order carries ``OrderTypeCode`` ``UBL2.0SIS`` in the right form (seed 003)."""
    return order_kind(order) is OrderKind.INTERNAL


def line_amount(quantity: Decimal, price: Decimal, currency: str) -> Decimal:
    """Quantity times price, rounded half up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-currency_decimals(currency))
    return (quantity * price).quantize(exponent, rounding=ROUND_HALF_UP)


def message_price(line: OrderLine) -> Decimal | None:
    """The line's tax-exclusive price per unit after line discounts, as the message states it.

    ``line_amount / quantity`` when the line states its amount and quantity,
    else its unit price; None when it states neither.
    """
    if line.line_amount is not None and line.quantity != _ZERO:
        exponent = Decimal(1).scaleb(-MESSAGE_PRICE_DECIMALS)
        return (line.line_amount / line.quantity).quantize(exponent, rounding=ROUND_HALF_UP)
    return line.unit_price


# --- Pricing an incoming order ----------------------------------------------------------------


def price_order(
    order: Order, data: SalesMasterData, *, allow_internal: bool = True
) -> SalesOrderDecision:
    """Price one incoming order as the receiving store's sales order (seed 003).

    Every line is priced and every problem recorded, so the user sees the
    whole list at once; the sales order is made only without errors.

    Args:
        order: The order as read from the message.
        data: The receiving store's master data for it, read just now.
        allow_internal: False for a connection that takes no internal orders
            (the Peppol supplier): every order is priced normally and the type
            code is not looked at.
    """
    kind = order_kind(order) if allow_internal else OrderKind.NORMAL
    problems: list[Problem] = [_kind_problem(order, kind)] if allow_internal else []
    if data.customer is None:
        problems.append(_unknown_customer(order))
    internal = kind is OrderKind.INTERNAL
    priced: list[StoreSalesOrderLine | None] = []
    for index, line in enumerate(order.lines):
        result, line_problems = _price_line(order, data, index, line, internal=internal)
        priced.append(result)
        problems.extend(line_problems)
    if not order.lines:
        problems.append(
            Problem(
                code="internal_pricing.order.no_lines",
                message=f"order {order.order_id} has no lines",
                severity=ERROR,
                field="lines",
            )
        )
    sales_order = None
    if not has_errors(problems) and data.customer is not None:
        lines = [p for p in priced if p is not None]
        sales_order = StoreSalesOrder(
            order_reference=order.order_id,
            customer_id=data.customer.party_id,
            internal=internal,
            order_type_code=order.order_type_code,
            currency=order.currency,
            order_date=order.issue_date,
            requested_delivery_date=order.requested_delivery_date,
            note=order.note,
            amount=sum((p.amount for p in lines), _ZERO),
            lines=lines,
        )
    return SalesOrderDecision(sales_order, problems, tuple(priced))


def _kind_problem(order: Order, kind: OrderKind) -> Problem:
    """The order's kind as a decision (INFO), or the near miss as a warning."""
    code = order.order_type_code
    if kind is OrderKind.INTERNAL:
        return Problem(
            code="internal_pricing.order_type.internal",
            message=(
                f"order {order.order_id} has OrderTypeCode {INTERNAL_ORDER_TYPE_CODE}: an internal"
                " sales order (no sale recorded) at the products' average purchase price"
            ),
            severity=INFO,
            field="order_type_code",
        )
    if kind is OrderKind.MALFORMED_INTERNAL:
        return Problem(
            code="internal_pricing.order_type.malformed",
            message=(
                f"order {order.order_id} has OrderTypeCode {code!r}, not exactly"
                f" {INTERNAL_ORDER_TYPE_CODE}: it is not taken as an internal order and is"
                " priced by the normal price lookup"
            ),
            severity=WARNING,
            field="order_type_code",
        )
    what = "no OrderTypeCode" if code is None else f"OrderTypeCode {code!r}"
    return Problem(
        code="internal_pricing.order_type.normal",
        message=f"order {order.order_id} has {what}: priced by the normal price lookup",
        severity=INFO,
        field="order_type_code",
    )


def _unknown_customer(order: Order) -> Problem:
    buyer = order.buyer
    named = "no buyer"
    if buyer is not None:
        ids = [i.value for i in buyer.identifiers]
        if buyer.endpoint_id is not None:
            ids.append(buyer.endpoint_id.value)
        ids.extend(x for x in (buyer.id, buyer.customer_assigned_account_id) if x)
        name = f"{buyer.name} " if buyer.name else ""
        unique = list(dict.fromkeys(ids))  # one GLN is often its identifier, endpoint and id
        named = f"buyer {name}({', '.join(unique) or 'no id'})"
    return Problem(
        code="internal_pricing.customer.unknown",
        message=f"order {order.order_id}: {named} is no customer of this store",
        severity=ERROR,
        field="buyer",
    )


def find_product(line: OrderLine, data: SalesMasterData) -> tuple[StoreProduct | None, str | None]:
    """The line's product: by the seller's item id, else the SKU, else the GTIN.

    Returns the product (None if unknown) and the canonical field of the first
    identifier the line gives (None if it gives none).
    """
    for name, value, table in (
        ("supplier_article_code", line.supplier_article_code, data.products_by_code),
        ("sku", line.sku, data.products_by_code),
        ("gtin", line.gtin, data.products_by_gtin),
    ):
        if value and value.strip() in table:
            return table[value.strip()], name
    for name in ("supplier_article_code", "sku", "gtin", "customer_article_code"):
        if getattr(line, name):
            return None, name
    return None, None


def _price_line(
    order: Order, data: SalesMasterData, index: int, line: OrderLine, *, internal: bool
) -> tuple[StoreSalesOrderLine | None, list[Problem]]:
    """One line: its product, its price by the order's kind, its cost and amount."""
    at = f"lines[{index}]"
    label = f"line {line.line_id}"
    product, field = find_product(line, data)
    if product is None:
        if field is None:
            return None, [
                Problem(
                    code="internal_pricing.product.missing_id",
                    message=f"{label}: no item id (seller's, SKU or GTIN) to find the product by",
                    severity=ERROR,
                    field=at,
                )
            ]
        return None, [
            Problem(
                code="internal_pricing.product.unknown",
                message=(
                    f"{label}: item {getattr(line, field)!r} ({field}) is no product of the store"
                ),
                severity=ERROR,
                field=f"{at}.{field}",
            )
        ]
    found = _internal_price(line, product) if internal else _normal_price(product, data)
    if found is None:
        return None, [_no_price(label, at, product, internal=internal)]
    price, source = found
    problems = [
        Problem(
            code="internal_pricing.price.source",
            message=f"{label}: price {price} {order.currency} from {_SOURCE_TEXT[source]}",
            severity=INFO,
            field=f"{at}.unit_price",
        )
    ]
    cost = price
    if not internal:
        cost_found = product.average_purchase_price
        if cost_found is None:
            cost_found = product.purchase_price
        if cost_found is None:
            cost_found = _ZERO
            problems.append(
                Problem(
                    code="internal_pricing.cost.missing",
                    message=(
                        f"{label}: product {product.product_code!r} has neither an average"
                        " purchase price nor a purchase price: the line's cost is 0"
                    ),
                    severity=WARNING,
                    field=f"{at}.purchase_price",
                )
            )
        cost = cost_found
    priced = StoreSalesOrderLine(
        line_id=line.line_id,
        product_code=product.product_code,
        description=line.description or product.name,
        quantity=line.quantity,
        unit=line.unit,
        sales_price=price,
        purchase_price=cost,
        price_source=source,
        amount=line_amount(line.quantity, price, order.currency),
    )
    return priced, problems


_SOURCE_TEXT = {
    PriceSource.AVERAGE_PURCHASE_PRICE: "the product's average purchase price (internal order)",
    PriceSource.PURCHASE_PRICE: (
        "the product's purchase price (internal order; no average purchase price)"
    ),
    PriceSource.MESSAGE: (
        "the message's tax-exclusive price (internal order; the product has neither an average"
        " purchase price nor a purchase price)"
    ),
    PriceSource.PRICE_LIST: "the customer's price list",
    PriceSource.LIST_PRICE: "the product's sales price (not on the customer's price list)",
}


def _internal_price(line: OrderLine, product: StoreProduct) -> tuple[Decimal, PriceSource] | None:
    """Average purchase price, else purchase price, else the message's tax-exclusive price."""
    if product.average_purchase_price is not None:
        return product.average_purchase_price, PriceSource.AVERAGE_PURCHASE_PRICE
    if product.purchase_price is not None:
        return product.purchase_price, PriceSource.PURCHASE_PRICE
    stated = message_price(line)
    if stated is not None:
        return stated, PriceSource.MESSAGE
    return None


def _normal_price(
    product: StoreProduct, data: SalesMasterData
) -> tuple[Decimal, PriceSource] | None:
    """The customer's price-list price, else the product's own sales price."""
    listed = data.price_list_prices.get(product.product_code)
    if listed is not None:
        return listed, PriceSource.PRICE_LIST
    if product.sales_price is not None:
        return product.sales_price, PriceSource.LIST_PRICE
    return None


def _no_price(label: str, at: str, product: StoreProduct, *, internal: bool) -> Problem:
    if internal:
        return Problem(
            code="internal_pricing.price.missing",
            message=(
                f"{label}: product {product.product_code!r} has neither an average purchase price"
                " nor a purchase price, and the message states no price"
            ),
            severity=ERROR,
            field=f"{at}.unit_price",
        )
    return Problem(
        code="internal_pricing.price.not_found",
        message=(
            f"{label}: product {product.product_code!r} is not on the customer's price list"
            " and has no sales price"
        ),
        severity=ERROR,
        field=f"{at}.unit_price",
    )


# --- A purchase order going out ------------------------------------------------------------------


def purchase_order_message(po: PurchaseOrderData) -> ExportDecision:
    """The UBL 2.0 internal order a posted purchase order to a ``UBL2.0SIS`` supplier becomes.

    Seed: "Kun parametrit on asetettu ja toimittajalle valittu UBL2.0SIS
    sanomaformatti, voidaan ostotilauksesta muodostaa UBL sanoma joko tilauksen
    kirjauksesta tai eräajona." Only a posted order goes (a draft is not
    ordered yet, a received one is done); the stores share product codes, so
    each line names the product code as both the seller's and the buyer's item id.
    """
    supplier = po.supplier
    if po.status != "posted":
        return ExportDecision(
            None,
            [
                Problem(
                    code="internal_pricing.export.not_posted",
                    message=(
                        f"purchase order {po.order_number} is {po.status!r}, not posted: not sent"
                    ),
                    severity=INFO,
                    field="status",
                )
            ],
        )
    if (supplier.message_format or "").strip() != INTERNAL_MESSAGE_FORMAT:
        return ExportDecision(
            None,
            [
                Problem(
                    code="internal_pricing.export.not_internal_supplier",
                    message=(
                        f"supplier {supplier.party_id} takes no {INTERNAL_MESSAGE_FORMAT} messages"
                        f" (message format {supplier.message_format!r}): purchase order"
                        f" {po.order_number} is not sent as one"
                    ),
                    severity=INFO,
                    field="supplier.message_format",
                )
            ],
        )
    problems: list[Problem] = []
    if not _CURRENCY.match(po.currency):
        problems.append(
            Problem(
                code="internal_pricing.export.currency_invalid",
                message=(
                    f"purchase order {po.order_number}: currency {po.currency!r} is no ISO code"
                ),
                severity=ERROR,
                field="currency",
            )
        )
    if not po.lines:
        problems.append(
            Problem(
                code="internal_pricing.export.no_lines",
                message=f"purchase order {po.order_number} has no lines to order",
                severity=ERROR,
                field="lines",
            )
        )
    if has_errors(problems):
        return ExportDecision(None, problems)
    buyer = store_party(po.store, "store", problems)
    seller = store_party(supplier, "supplier", problems)
    order = Order(
        order_id=po.order_number,
        order_type_code=INTERNAL_ORDER_TYPE_CODE,
        version_id=INTERNAL_UBL_VERSION,
        issue_date=po.order_date,
        currency=po.currency,
        buyer=buyer,
        seller=seller,
        requested_delivery_date=po.requested_delivery_date,
        note=po.note,
        lines=[_order_line(po, line) for line in po.lines],
    )
    return ExportDecision(order, problems)


def store_party(party: StoreParty, role: str, problems: list[Problem]) -> Party:
    """A store, customer or supplier as a UBL party: GLN under 0088, its endpoint, its address.

    The endpoint is the party's own when it has one, else its GLN. A country
    that is no ISO 3166 alpha-2 code is left out with a warning in ``problems``.
    """
    endpoint = None
    if party.endpoint_id:
        endpoint = PartyIdentifier(value=party.endpoint_id, scheme=party.endpoint_scheme)
    elif party.gln:
        endpoint = PartyIdentifier(value=party.gln, scheme=GLN_SCHEME)
    country = (party.country or "").strip().upper() or None
    if country is not None and not _COUNTRY.match(country):
        problems.append(
            Problem(
                code="internal_pricing.party.country_invalid",
                message=(
                    f"{role} {party.party_id}: country {party.country!r} is no ISO 3166 alpha-2"
                    " code and is left out"
                ),
                severity=WARNING,
                field=f"{role}.country",
            )
        )
        country = None
    address = None
    if any((party.street, party.city, party.postal_code, country)):
        address = Address(
            street=party.street, city=party.city, postal_code=party.postal_code, country=country
        )
    return Party(
        id=party.party_id,
        name=party.name,
        identifiers=[PartyIdentifier(value=party.gln, scheme=GLN_SCHEME)] if party.gln else [],
        endpoint_id=endpoint,
        vat_number=party.vat_number,
        address=address,
    )


def _order_line(po: PurchaseOrderData, line: PurchaseOrderLineData) -> OrderLine:
    product = po.products_by_code.get(line.product_code)
    gtin = product.gtin if product is not None else None
    return OrderLine(
        line_id=str(line.line_number),
        supplier_article_code=line.product_code,
        customer_article_code=line.product_code,
        gtin=gtin,
        gtin_scheme=GTIN_SCHEME if gtin else None,
        description=line.description or (product.name if product is not None else None),
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.purchase_price,
        line_amount=line_amount(line.quantity, line.purchase_price, po.currency),
        note=line.text,
    )
