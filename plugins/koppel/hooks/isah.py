"""Reading the ERP's (Isah's) master data for one SCSN order, fresh, in a fixed handful of queries.

The SCSN import checks (seed 002) run against what the ERP holds at check
time: a customer corrected in the ERP is seen by the next replay. So nothing
is cached between messages; instead each message costs the same few queries
however many lines it has (settings, customer, existing order, customer
articles, articles with revisions, customer prices, price-list prices,
credit exposure, currencies), each query fetching every row the lines need
at once. The checks themselves (``koppel.rules.scsn_order_checks``) are pure
functions over the :class:`OrderMasterData` returned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, type_coerce
from sqlalchemy.exc import InterfaceError, OperationalError

from koppel.documents import Order
from koppel.errors import TransportError
from koppel.hooks import isah_schema as erp
from koppel.rules.erp_master_data import (
    Article,
    CreditExposure,
    Customer,
    CustomerArticle,
    ExistingOrder,
    OrderMasterData,
    PriceAgreement,
    Revision,
)
from koppel.rules.scsn_order_checks import buyer_scsn_id

#: Where a customer price came from, as the checks' messages name it.
CUSTOMER_PRICE = "customer price"


class IsahReader:
    """The ERP's master data as one order's checks need it.

    Args:
        engine: the ERP database (its tables as :mod:`koppel.hooks.isah_schema` defines them).
    """

    def __init__(self, engine: Engine) -> None:
        """Read through ``engine``; each call opens one connection and one read transaction."""
        self._engine = engine

    def order_master_data(self, order: Order) -> OrderMasterData:
        """Everything the checks need for ``order``, as the ERP holds it now.

        Raises:
            TransportError: the ERP database cannot be reached (the message is tried again).
        """
        try:
            return self._read(order)
        except (OperationalError, InterfaceError) as exc:
            raise TransportError(f"the ERP database cannot be read: {exc.orig}") from exc

    def _read(self, order: Order) -> OrderMasterData:
        scsn_id = buyer_scsn_id(order)
        supplier_codes = {c for line in order.lines if (c := line.supplier_article_code)}
        customer_codes = {c for line in order.lines if (c := line.customer_article_code)}
        with self._engine.connect() as conn:
            settings = _settings(conn)
            customer = _customer(conn, scsn_id) if scsn_id else None
            existing = _existing_order(conn, order.order_id, scsn_id) if scsn_id else None
            customer_articles = (
                _customer_articles(conn, customer.customer_id, customer_codes)
                if customer and customer_codes
                else {}
            )
            codes = supplier_codes | {ca.article_code for ca in customer_articles.values()}
            articles = _articles(conn, codes)
            price_lists = {
                name: list_id
                for name, list_id in (
                    ("customer", customer.price_list_id if customer else None),
                    ("default", settings.get(erp.DEFAULT_PRICE_LIST)),
                )
                if list_id
            }
            list_prices = _price_list_prices(conn, set(price_lists.values()), set(articles))
            return OrderMasterData(
                customer=customer,
                default_sales_type=settings.get(erp.DEFAULT_SALES_TYPE),
                deviating_price_status=settings.get(erp.DEVIATING_PRICE_STATUS),
                existing_order=existing,
                articles=articles,
                customer_articles=customer_articles,
                customer_prices=(
                    _customer_prices(conn, customer.customer_id, set(articles))
                    if customer and articles
                    else {}
                ),
                customer_price_list=list_prices.get(price_lists.get("customer") or "", {}),
                default_price_list=list_prices.get(price_lists.get("default") or "", {}),
                exposure=(
                    _exposure(conn, customer.customer_id, existing)
                    if customer
                    else CreditExposure()
                ),
                currency_decimals=_currency_decimals(conn),
            )


def _settings(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(erp.settings.c.key, erp.settings.c.value))
    return {key: value for key, value in rows if value is not None}


def _customer(conn: Connection, scsn_id: str) -> Customer | None:
    c = erp.customers.c
    row = conn.execute(select(erp.customers).where(c.scsn_id == scsn_id)).mappings().first()
    if row is None:
        return None
    return Customer(
        customer_id=row["customer_id"],
        name=row["name"],
        scsn_id=row["scsn_id"],
        sales_type=row["sales_type"],
        accept_deviating_prices=row["accept_deviating_prices"],
        credit_check=row["credit_check"],
        credit_limit=row["credit_limit"],
        credit_includes_quotes=row["credit_include_quotes"],
        credit_includes_orders=row["credit_include_orders"],
        currency=row["currency"],
        price_list_id=row["price_list_id"],
        discount_percentage=row["discount_percentage"],
    )


def _existing_order(conn: Connection, reference: str, scsn_id: str) -> ExistingOrder | None:
    o = erp.sales_orders.c
    row = conn.execute(
        select(o.order_number, o.confirmed, o.amount).where(
            o.order_reference == reference, o.buyer_scsn_id == scsn_id
        )
    ).first()
    if row is None:
        return None
    return ExistingOrder(
        order_number=str(row.order_number), confirmed=row.confirmed, amount=row.amount
    )


def _customer_articles(
    conn: Connection, customer_id: str, codes: set[str]
) -> dict[str, CustomerArticle]:
    ca = erp.customer_articles.c
    rows = conn.execute(
        select(ca.customer_article_code, ca.article_code, ca.revision).where(
            ca.customer_id == customer_id, ca.customer_article_code.in_(sorted(codes))
        )
    )
    return {
        row.customer_article_code: CustomerArticle(
            customer_code=row.customer_article_code,
            article_code=row.article_code,
            revision=row.revision,
        )
        for row in rows
    }


def _articles(conn: Connection, codes: set[str]) -> dict[str, Article]:
    """The articles with all their revisions: one outer join, however many lines."""
    if not codes:
        return {}
    a, r = erp.articles.c, erp.article_revisions.c
    rows = conn.execute(
        select(a.article_code, a.description, a.customer_id, r.revision, r.released, r.sequence)
        .select_from(
            erp.articles.outerjoin(erp.article_revisions, r.article_code == a.article_code)
        )
        .where(a.article_code.in_(sorted(codes)))
        .order_by(a.article_code, r.sequence)
    )
    heads: dict[str, Any] = {}
    revisions: dict[str, list[Revision]] = defaultdict(list)
    for row in rows:
        heads.setdefault(row.article_code, row)
        if row.revision is not None:
            revisions[row.article_code].append(
                Revision(revision=row.revision, released=row.released, sequence=row.sequence)
            )
    return {
        code: Article(
            article_code=code,
            description=head.description,
            customer_id=head.customer_id,
            revisions=tuple(revisions[code]),
        )
        for code, head in heads.items()
    }


def _customer_prices(
    conn: Connection, customer_id: str, codes: set[str]
) -> dict[str, tuple[PriceAgreement, ...]]:
    cp = erp.customer_prices.c
    rows = conn.execute(
        select(cp.article_code, cp.currency, cp.unit_price, cp.min_quantity, cp.discount_percentage)
        .where(cp.customer_id == customer_id, cp.article_code.in_(sorted(codes)))
        .order_by(cp.article_code, cp.currency, cp.min_quantity)
    )
    return _by_article(
        PriceAgreement(
            article_code=row.article_code,
            currency=row.currency,
            unit_price=row.unit_price,
            min_quantity=row.min_quantity,
            discount_percentage=row.discount_percentage,
            source=CUSTOMER_PRICE,
        )
        for row in rows
    )


def _price_list_prices(
    conn: Connection, list_ids: set[str], codes: set[str]
) -> dict[str, dict[str, tuple[PriceAgreement, ...]]]:
    """Prices of the given lists (the customer's and the default), by list and article."""
    if not list_ids or not codes:
        return {}
    lp, pl = erp.price_list_prices.c, erp.price_lists.c
    rows = conn.execute(
        select(lp.price_list_id, lp.article_code, pl.currency, lp.unit_price, lp.min_quantity)
        .join_from(erp.price_list_prices, erp.price_lists, pl.price_list_id == lp.price_list_id)
        .where(lp.price_list_id.in_(sorted(list_ids)), lp.article_code.in_(sorted(codes)))
        .order_by(lp.price_list_id, lp.article_code, lp.min_quantity)
    )
    per_list: dict[str, list[PriceAgreement]] = defaultdict(list)
    for row in rows:
        per_list[row.price_list_id].append(
            PriceAgreement(
                article_code=row.article_code,
                currency=row.currency,
                unit_price=row.unit_price,
                min_quantity=row.min_quantity,
                discount_percentage=None,
                source=f"price list {row.price_list_id}",
            )
        )
    return {list_id: _by_article(prices) for list_id, prices in per_list.items()}


def _by_article(prices: Iterable[PriceAgreement]) -> dict[str, tuple[PriceAgreement, ...]]:
    grouped: dict[str, list[PriceAgreement]] = defaultdict(list)
    for price in prices:
        grouped[price.article_code].append(price)
    return {code: tuple(found) for code, found in grouped.items()}


def _exposure(conn: Connection, customer_id: str, existing: ExistingOrder | None) -> CreditExposure:
    """Open invoices, open quotes and open orders of the customer, in one statement.

    The order a "New" message updates is left out of the open orders: its
    new amount is counted as this order's, not twice.
    """
    i, q, o = erp.open_invoices.c, erp.quotes.c, erp.sales_orders.c
    open_orders = and_(o.customer_id == customer_id, o.status.not_in(erp.CLOSED_ORDER_STATUSES))
    if existing is not None:
        open_orders = and_(open_orders, o.order_number != int(existing.order_number))

    def total(column: Any, *where: Any) -> Any:
        summed = func.coalesce(func.sum(column), 0)
        return type_coerce(select(summed).where(*where).scalar_subquery(), erp.Money)

    row = conn.execute(
        select(
            total(i.open_amount, i.customer_id == customer_id).label("invoices"),
            total(q.amount, q.customer_id == customer_id, q.status == "open").label("quotes"),
            total(o.amount, open_orders).label("orders"),
        )
    ).one()
    return CreditExposure(
        open_invoices=_decimal(row.invoices),
        open_quotes=_decimal(row.quotes),
        open_orders=_decimal(row.orders),
    )


def _currency_decimals(conn: Connection) -> Mapping[str, int]:
    c = erp.currencies.c
    return {row.code: row.decimals for row in conn.execute(select(c.code, c.decimals))}


def _decimal(value: object) -> Decimal:
    """A sum as a Decimal (SQLite hands back an int for an empty sum's 0)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))
