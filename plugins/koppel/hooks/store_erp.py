"""Reading a store database's master data for one message, fresh, in a fixed handful of queries.

The seed 003 rules price an incoming order, build an outgoing order and
answer a delivery from what the store's database holds at that moment: an
average purchase price changed in the store is seen by the next message. So
nothing is cached between messages; instead each call costs the same few
queries however many lines the message has (the store's own row, the party,
the products or lines, prices or earlier deliveries), each query fetching
every row the lines need at once. The rules themselves are pure functions
over the :mod:`koppel.rules.store_master_data` values returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, or_, select, type_coerce
from sqlalchemy.exc import InterfaceError, OperationalError

from koppel.documents import Order, Party
from koppel.errors import TransportError
from koppel.hooks import store_erp_schema as erp
from koppel.rules.store_master_data import (
    DeliveredSalesOrder,
    PurchaseOrderData,
    PurchaseOrderLineData,
    SalesMasterData,
    SalesOrderLineData,
    StoreParty,
    StoreProduct,
)

#: Identifier schemes under which a party identifier is a GLN (ISO 6523 ICD 0088, or named).
GLN_SCHEMES = frozenset({"0088", "GLN"})

_T = TypeVar("_T")


class StoreErpReader:
    """One store database's master data as one message's rules need it.

    Args:
        engine: the store's database (its tables as :mod:`koppel.hooks.store_erp_schema`
            defines them).
    """

    def __init__(self, engine: Engine) -> None:
        """Read through ``engine``; each call opens one connection and one read transaction."""
        self._engine = engine

    def sales_master_data(self, order: Order) -> SalesMasterData:
        """What pricing ``order`` (an incoming order to this store) needs: at most four queries.

        The customer is the one whose GLN is one of the buyer's GLNs, else
        whose endpoint id is the buyer's endpoint id, else whose customer id
        is the account id this store assigned the buyer (UBL
        ``SupplierAssignedAccountID``). Products are looked up by the lines'
        seller item ids (and SKUs) and GTINs.

        Raises:
            TransportError: the store database cannot be reached (the message is tried again).
        """
        return self._reading(lambda conn: _sales_master_data(conn, order))

    def purchase_order(self, order_number: str) -> PurchaseOrderData | None:
        """The purchase order ``order_number`` with supplier, lines and products: three queries.

        Returns:
            None when the store has no such order (or the number is no number).

        Raises:
            TransportError: the store database cannot be reached.
        """
        number = _number(order_number)
        if number is None:
            return None
        return self._reading(lambda conn: _purchase_order(conn, number))

    def delivered_sales_order(
        self, sales_order_number: str, delivery_number: str
    ) -> DeliveredSalesOrder | None:
        """The sales order a delivery belongs to, with earlier deliveries' quantities: four queries.

        ``delivered_before`` of each line sums the deliveries of the same
        sales order numbered below ``delivery_number`` (delivery numbers are
        given out in order), so the waybill of a second delivery can say what
        is still outstanding.

        Returns:
            None when the store has no such sales order.

        Raises:
            TransportError: the store database cannot be reached.
        """
        order = _number(sales_order_number)
        delivery = _number(delivery_number)
        if order is None or delivery is None:
            return None
        return self._reading(lambda conn: _delivered_sales_order(conn, order, delivery))

    def _reading(self, read: Callable[[Connection], _T]) -> _T:
        try:
            with self._engine.connect() as conn:
                return read(conn)
        except (OperationalError, InterfaceError) as exc:
            raise TransportError(f"the store database cannot be read: {exc.orig}") from exc


def _number(text: str) -> int | None:
    """An order or delivery number as the store keys it; None for text that is no number."""
    stripped = str(text).strip()
    return int(stripped) if stripped.isdigit() else None


def _party(row: Mapping[Any, Any], id_column: str) -> StoreParty:
    return StoreParty(
        party_id=str(row[id_column]),
        name=row["name"],
        gln=row["gln"],
        endpoint_id=row["endpoint_id"],
        endpoint_scheme=row["endpoint_scheme"],
        vat_number=row["vat_number"],
        street=row["street"],
        city=row["city"],
        postal_code=row["postal_code"],
        country=row["country"],
        message_format=row.get("message_format"),
    )


def _store(conn: Connection) -> StoreParty:
    """The store's own row (the table has exactly one)."""
    row = conn.execute(select(erp.store).order_by(erp.store.c.store_id).limit(1)).mappings().one()
    return _party(row, "store_id")


def _product(row: Any) -> StoreProduct:
    return StoreProduct(
        product_code=row.product_code,
        name=row.name,
        gtin=row.gtin,
        unit=row.unit,
        average_purchase_price=row.average_purchase_price,
        purchase_price=row.purchase_price,
        sales_price=row.sales_price,
    )


# --- orders into the store (orders flow, Peppol orders) ---------------------------------------


def _glns(party: Party) -> set[str]:
    """Every GLN a message gives a party: identifiers under a GLN scheme, a GLN endpoint."""
    found = {i.value for i in party.identifiers if i.scheme in GLN_SCHEMES}
    endpoint = party.endpoint_id
    if endpoint is not None and endpoint.scheme in GLN_SCHEMES:
        found.add(endpoint.value)
    if not party.identifiers and party.id:
        found.add(party.id)  # an identifier without its scheme: a GLN is the usual one
    return found


def _customer(conn: Connection, buyer: Party | None) -> tuple[StoreParty, str | None] | None:
    """The buyer's customer and its price list, one query over the three ways a message names it."""
    if buyer is None:
        return None
    c = erp.customers.c
    glns = _glns(buyer)
    endpoint = buyer.endpoint_id.value if buyer.endpoint_id else None
    account = buyer.supplier_assigned_account_id
    conditions = [
        *([c.gln.in_(sorted(glns))] if glns else []),
        *([c.endpoint_id == endpoint] if endpoint else []),
        *([c.customer_id == account] if account else []),
    ]
    if not conditions:
        return None
    rows = list(
        conn.execute(select(erp.customers).where(or_(*conditions)).order_by(c.customer_id))
        .mappings()
        .all()
    )
    tests: list[Callable[[Mapping[Any, Any]], bool]] = [
        lambda row: row["gln"] in glns,
        lambda row: endpoint is not None and row["endpoint_id"] == endpoint,
        lambda row: account is not None and row["customer_id"] == account,
    ]
    for test in tests:
        match = next((row for row in rows if test(row)), None)
        if match is not None:
            return _party(match, "customer_id"), match["price_list_id"]
    return None


def _sales_master_data(conn: Connection, order: Order) -> SalesMasterData:
    store = _store(conn)
    customer, price_list = _customer(conn, order.buyer) or (None, None)
    # A product code may come as the seller's item id or, from formats that have no
    # such field, as the line's SKU; the pricing rule tries both.
    codes = {c.strip() for line in order.lines for c in (line.supplier_article_code, line.sku) if c}
    gtins = {g.strip() for line in order.lines if (g := line.gtin)}
    found: list[StoreProduct] = []
    if codes or gtins:
        p = erp.products.c
        found = [
            _product(row)
            for row in conn.execute(
                select(erp.products)
                .where(or_(p.product_code.in_(sorted(codes)), p.gtin.in_(sorted(gtins))))
                .order_by(p.product_code)
            )
        ]
    prices: dict[str, Decimal] = {}
    if price_list and found:
        lp = erp.price_list_prices.c
        prices = {
            row.product_code: row.price
            for row in conn.execute(
                select(lp.product_code, lp.price).where(
                    lp.price_list_id == price_list,
                    lp.product_code.in_(sorted(p.product_code for p in found)),
                )
            )
        }
    return SalesMasterData(
        store=store,
        customer=customer,
        products_by_code={p.product_code: p for p in found},
        products_by_gtin={p.gtin: p for p in found if p.gtin},
        price_list_prices=prices,
    )


# --- purchase orders out of the store (purchase_orders and waybills flows) ----------------------


def _purchase_order(conn: Connection, number: int) -> PurchaseOrderData | None:
    po, s = erp.purchase_orders.c, erp.suppliers
    row = (
        conn.execute(
            select(
                po.order_number,
                po.status,
                po.currency,
                po.order_date,
                po.requested_delivery_date,
                po.note.label("order_note"),
                s,
            )
            .join_from(erp.purchase_orders, s, s.c.supplier_id == po.supplier_id)
            .where(po.order_number == number)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    store = _store(conn)
    pl, p = erp.purchase_order_lines.c, erp.products.c
    lines: list[PurchaseOrderLineData] = []
    products: dict[str, StoreProduct] = {}
    for line in conn.execute(
        select(
            pl.line_number,
            pl.product_code.label("line_product"),
            pl.quantity,
            pl.purchase_price.label("line_price"),
            pl.unit.label("line_unit"),
            pl.description,
            pl.text,
            erp.products,
        )
        .outerjoin_from(erp.purchase_order_lines, erp.products, p.product_code == pl.product_code)
        .where(pl.order_number == number)
        .order_by(pl.line_number)
    ):
        lines.append(
            PurchaseOrderLineData(
                line_number=line.line_number,
                product_code=line.line_product,
                quantity=line.quantity,
                purchase_price=line.line_price,
                unit=line.line_unit,
                description=line.description,
                text=line.text,
            )
        )
        if line.product_code is not None:
            products[line.product_code] = _product(line)
    return PurchaseOrderData(
        order_number=str(row["order_number"]),
        status=row["status"],
        store=store,
        supplier=_party(row, "supplier_id"),
        currency=row["currency"],
        order_date=row["order_date"],
        requested_delivery_date=row["requested_delivery_date"],
        note=row["order_note"],
        lines=tuple(lines),
        products_by_code=products,
    )


# --- deliveries out of the store (despatches flow, Peppol despatch advice) ----------------------


def _delivered_sales_order(
    conn: Connection, number: int, delivery: int
) -> DeliveredSalesOrder | None:
    so, c = erp.sales_orders.c, erp.customers
    row = (
        conn.execute(
            select(so.order_number, so.order_reference, so.internal, so.currency, c)
            .join_from(erp.sales_orders, c, c.c.customer_id == so.customer_id)
            .where(so.order_number == number)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    store = _store(conn)
    before = _delivered_before(conn, number, delivery)
    sl, p = erp.sales_order_lines.c, erp.products.c
    lines = tuple(
        SalesOrderLineData(
            line_number=line.line_number,
            line_id=line.line_id,
            product_code=line.product_code,
            quantity=line.quantity,
            sales_price=line.sales_price,
            unit=line.unit,
            description=line.description,
            gtin=line.gtin,
            delivered_before=before.get(line.line_number, Decimal(0)),
        )
        for line in conn.execute(
            select(
                sl.line_number,
                sl.line_id,
                sl.product_code,
                sl.quantity,
                sl.sales_price,
                sl.unit,
                sl.description,
                p.gtin,
            )
            .outerjoin_from(erp.sales_order_lines, erp.products, p.product_code == sl.product_code)
            .where(sl.order_number == number)
            .order_by(sl.line_number)
        )
    )
    return DeliveredSalesOrder(
        order_number=str(row["order_number"]),
        order_reference=row["order_reference"],
        internal=bool(row["internal"]),
        currency=row["currency"],
        store=store,
        customer=_party(row, "customer_id"),
        lines=lines,
    )


def _delivered_before(conn: Connection, order: int, delivery: int) -> dict[int, Decimal]:
    """Per sales-order line, the quantity the order's deliveries before ``delivery`` delivered."""
    d, dl = erp.deliveries.c, erp.delivery_lines.c
    rows = conn.execute(
        select(
            dl.sales_order_line,
            type_coerce(func.sum(dl.quantity), erp.Quantity).label("delivered"),
        )
        .join_from(erp.delivery_lines, erp.deliveries, d.delivery_number == dl.delivery_number)
        .where(d.sales_order_number == order, d.delivery_number < delivery)
        .group_by(dl.sales_order_line)
    )
    return {row.sales_order_line: _decimal(row.delivered) for row in rows}


def _decimal(value: object) -> Decimal:
    """A sum as a Decimal, whatever number type the driver hands back."""
    return value if isinstance(value, Decimal) else Decimal(str(value))
