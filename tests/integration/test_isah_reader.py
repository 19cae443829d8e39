"""Reading the ERP's master data for one SCSN order, on PostgreSQL and on SQLite.

The seeded stand-in ERP (:mod:`koppel.sandbox.isah.seed`) is read through
the Airflow connection ``isah_erp`` by the lookup the SCSN import rule gets
(:func:`koppel.hooks.destinations.flow_lookups`), as a flow reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, update

from koppel.config import FlowConfig
from koppel.documents import Order, OrderLine, Party, PartyIdentifier
from koppel.errors import TransportError
from koppel.hooks.destinations import flow_lookups
from koppel.hooks.isah import IsahReader
from koppel.hooks.isah_schema import DEFAULT_PRICE_LIST, DEFAULT_SALES_TYPE, customers
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
from koppel.sandbox.isah import (
    BAKKER,
    BAKKER_SCSN_ID,
    CONFIRMED_ORDER,
    DEMO_DEVIATING_PRICE_STATUS,
    DEMO_SALES_TYPE,
    HOLLANDSE_PRECISIE,
    NORDIC_DRIVES,
    NORDIC_DRIVES_SCSN_ID,
    UNCONFIRMED_ORDER,
    set_setting,
)
from koppel.sandbox.isah.seed import HOLLANDSE_PRECISIE_SCSN_ID
from tests.integration.statements import statements_run

pytestmark = pytest.mark.integration

MasterData = Callable[[Order], OrderMasterData]


def _order(
    reference: str,
    scsn_id: str | None,
    *lines: tuple[str | None, str | None],
    scheme: str = "SCSN",
) -> Order:
    """An order of ``scsn_id`` with lines of (supplier article code, customer article code)."""
    buyer = None
    if scsn_id is not None:
        buyer = Party(identifiers=[PartyIdentifier(value=scsn_id, scheme=scheme)])
    return Order(
        order_id=reference,
        buyer=buyer,
        lines=[
            OrderLine(
                line_id=str(n),
                supplier_article_code=supplier,
                customer_article_code=customer,
                quantity=Decimal(1),
            )
            for n, (supplier, customer) in enumerate(lines, start=1)
        ],
    )


def _flow(target: dict[str, Any], rules: list[str]) -> FlowConfig:
    """An SCSN orders flow from an SFTP folder to ``target``."""
    return FlowConfig.model_validate(
        {
            "name": "orders",
            "description": "SCSN orders into the ERP",
            "source": {
                "transport": "sftp",
                "conn_id": "s",
                "folder": "/in",
                "format": "scsn.order",
            },
            "target": target,
            "rules": rules,
        }
    )


def _erp_target(conn_id: str) -> dict[str, Any]:
    return {
        "transport": "sql",
        "conn_id": conn_id,
        "format": "isah.sales_order",
        "table": "sales_orders",
        "identified_by": ["order_reference", "buyer_scsn_id"],
    }


@pytest.fixture
def master_data(erp_conn_id: str) -> MasterData:
    """The lookup an ``scsn_order_import`` flow with an SQL target gives its rule."""
    lookups = flow_lookups(_flow(_erp_target(erp_conn_id), ["scsn_order_import"]))
    lookup: MasterData = lookups["erp_order_master_data"]
    return lookup


def _price(
    code: str,
    currency: str,
    price: str,
    source: str,
    *,
    minimum: str = "1",
    discount: str | None = None,
) -> PriceAgreement:
    return PriceAgreement(
        article_code=code,
        currency=currency,
        unit_price=Decimal(price),
        min_quantity=Decimal(minimum),
        discount_percentage=None if discount is None else Decimal(discount),
        source=source,
    )


def test_every_field_is_filled_from_the_erp(master_data: MasterData) -> None:
    """Bakker updating its unconfirmed order: supplier codes, customer codes, another's article."""
    order = _order(
        UNCONFIRMED_ORDER,
        BAKKER_SCSN_ID,
        ("SHAFT-100", None),
        (None, "BK-4712"),
        ("HOUSING-HPT", "BK-4711"),
        ("NO-SUCH", "BK-0000"),
    )

    data = master_data(order)

    shaft_revisions = (
        Revision("A", released=True, sequence=1),
        Revision("B", released=True, sequence=2),
        Revision("C", released=False, sequence=3),
    )
    industry, standard = "price list INDUSTRY-EUR", "price list STANDARD-EUR"
    assert data == OrderMasterData(
        customer=Customer(
            customer_id=BAKKER,
            name="Bakker Machinebouw B.V.",
            scsn_id=BAKKER_SCSN_ID,
            sales_type="SCI-NL",
            accept_deviating_prices=False,
            credit_check=True,
            credit_limit=Decimal("10000"),
            credit_includes_quotes=True,
            credit_includes_orders=True,
            currency="EUR",
            price_list_id="INDUSTRY-EUR",
            discount_percentage=Decimal("5"),
        ),
        default_sales_type=DEMO_SALES_TYPE,
        deviating_price_status=DEMO_DEVIATING_PRICE_STATUS,
        existing_order=ExistingOrder(
            order_number=data.existing_order.order_number if data.existing_order else "?",
            confirmed=False,
            amount=Decimal("425"),
        ),
        articles={
            "SHAFT-100": Article("SHAFT-100", "Drive shaft 100 mm", None, shaft_revisions),
            "FLANGE-200": Article(
                "FLANGE-200", "Flange DN200", None, (Revision("01", released=True, sequence=1),)
            ),
            "HOUSING-HPT": Article(
                "HOUSING-HPT",
                "Gearbox housing, Hollandse Precisie design",
                HOLLANDSE_PRECISIE,
                (Revision("2", released=True, sequence=1),),
            ),
        },
        customer_articles={
            "BK-4711": CustomerArticle("BK-4711", "SHAFT-100", "B"),
            "BK-4712": CustomerArticle("BK-4712", "FLANGE-200", None),
        },
        customer_prices={
            "SHAFT-100": (
                _price("SHAFT-100", "EUR", "42.50", "customer price"),
                _price("SHAFT-100", "EUR", "39.90", "customer price", minimum="10", discount="2.5"),
            )
        },
        customer_price_list={"FLANGE-200": (_price("FLANGE-200", "EUR", "18.40", industry),)},
        default_price_list={
            "SHAFT-100": (_price("SHAFT-100", "EUR", "45.00", standard),),
            "FLANGE-200": (_price("FLANGE-200", "EUR", "19.95", standard),),
        },
        # Open orders leave out the order being updated (425.00): only the confirmed 850.00.
        exposure=CreditExposure(
            open_invoices=Decimal("2500"), open_quotes=Decimal("3000"), open_orders=Decimal("850")
        ),
        currency_decimals={"EUR": 2, "USD": 2},
    )
    assert data.existing_order is not None
    assert data.existing_order.order_number.isdigit()


def test_a_confirmed_order_and_the_open_orders_of_a_new_one(master_data: MasterData) -> None:
    confirmed = master_data(_order(CONFIRMED_ORDER, BAKKER_SCSN_ID, ("SHAFT-100", None)))
    new = master_data(_order("PO-NEW", BAKKER_SCSN_ID, ("SHAFT-100", None)))

    assert confirmed.existing_order is not None
    assert confirmed.existing_order.confirmed is True
    assert confirmed.exposure.open_orders == Decimal("425")
    assert new.existing_order is None
    assert new.exposure.open_orders == Decimal("1275")


def test_shipped_orders_and_closed_quotes_are_not_open(master_data: MasterData) -> None:
    """Nordic Drives: its shipped 5,000.00 order does not count, its open 600.00 one does."""
    data = master_data(_order("ND-PO-99", NORDIC_DRIVES_SCSN_ID, (None, "ND-300")))

    assert data.customer is not None
    assert data.customer.customer_id == NORDIC_DRIVES
    assert data.customer.sales_type is None
    assert data.customer.credit_limit == Decimal("2500")
    assert data.exposure == CreditExposure(
        open_invoices=Decimal("1200"), open_quotes=Decimal("900"), open_orders=Decimal("600")
    )
    assert data.customer_price_list == {
        "BRKT-300": (_price("BRKT-300", "USD", "9.25", "price list EXPORT-USD"),)
    }
    assert data.customer_prices == {}


def test_a_customer_without_price_list_or_credit_check_has_nothing_to_count(
    master_data: MasterData,
) -> None:
    data = master_data(_order("HPT-1", HOLLANDSE_PRECISIE_SCSN_ID, (None, "HPT-9001")))

    assert data.customer is not None
    assert data.customer.accept_deviating_prices is True
    assert data.customer.price_list_id is None
    assert data.customer_price_list == {}
    assert data.customer_articles["HPT-9001"].revision == "2"
    assert data.exposure == CreditExposure()


def test_an_unknown_buyer_still_gets_the_articles_and_settings(master_data: MasterData) -> None:
    data = master_data(_order("X-1", "NL-SCSN-NOBODY", ("SHAFT-100", None), (None, "BK-4711")))

    assert data.customer is None
    assert data.existing_order is None
    assert set(data.articles) == {"SHAFT-100"}
    assert data.customer_articles == {}
    assert data.default_sales_type == DEMO_SALES_TYPE
    assert set(data.default_price_list) == {"SHAFT-100"}


def test_a_buyer_identified_without_scheme_is_found_by_its_party_id(
    master_data: MasterData,
) -> None:
    order = _order("X-2", None, ("SHAFT-100", None)).model_copy(
        update={"buyer": Party(id=BAKKER_SCSN_ID)}
    )
    data = master_data(order)
    assert data.customer is not None
    assert data.customer.customer_id == BAKKER


def test_master_data_is_read_fresh_for_every_message(
    master_data: MasterData, erp_engine: Engine
) -> None:
    order = _order("PO-FRESH", NORDIC_DRIVES_SCSN_ID, ("BRKT-300", None))
    before = master_data(order)
    with erp_engine.begin() as conn:
        conn.execute(
            update(customers)
            .where(customers.c.customer_id == NORDIC_DRIVES)
            .values(sales_type="SCI-SE", credit_limit=Decimal("9000"))
        )
    set_setting(erp_engine, DEFAULT_SALES_TYPE, None)
    set_setting(erp_engine, DEFAULT_PRICE_LIST, None)

    after = master_data(order)

    assert before.customer is not None
    assert after.customer is not None
    assert (before.customer.sales_type, after.customer.sales_type) == (None, "SCI-SE")
    assert after.customer.credit_limit == Decimal("9000")
    assert (before.default_sales_type, after.default_sales_type) == (DEMO_SALES_TYPE, None)
    assert before.default_price_list != {}
    assert after.default_price_list == {}


@pytest.fixture
def statements(erp_engine: Engine) -> Iterator[list[str]]:
    """Every query the ERP engine runs while the test counts (SQLite's BEGIN is none)."""
    with statements_run(erp_engine) as seen:
        yield seen


def test_the_number_of_queries_does_not_grow_with_the_lines(
    erp_engine: Engine, statements: list[str]
) -> None:
    reader = IsahReader(erp_engine)
    codes = ["SHAFT-100", "FLANGE-200", "BRKT-300", "COVER-400", "HOUSING-HPT"]
    customer_codes = ["BK-4711", "BK-4712", "BK-0000"]

    reader.order_master_data(_order("PO-Q1", BAKKER_SCSN_ID, ("SHAFT-100", "BK-4711")))
    one_line = len(statements)
    statements.clear()
    many = [(codes[n % 5], customer_codes[n % 3]) for n in range(200)]
    data = reader.order_master_data(_order("PO-Q2", BAKKER_SCSN_ID, *many))

    assert len(statements) == one_line <= 9
    assert set(data.articles) == set(codes)


def test_an_unreachable_erp_is_a_transport_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ISAH_DOWN", "postgres://koppel:secret@127.0.0.1:1/isah")
    lookup = flow_lookups(_flow(_erp_target("isah_down"), ["scsn_order_import"]))
    with pytest.raises(TransportError) as failed:
        lookup["erp_order_master_data"](_order("PO-1", BAKKER_SCSN_ID, ("SHAFT-100", None)))
    assert "secret" not in str(failed.value)


def test_flows_without_the_scsn_rule_or_an_sql_target_get_no_erp_lookup() -> None:
    files = {"transport": "sftp", "conn_id": "t", "folder": "/out", "format": "x.order"}
    assert flow_lookups(_flow(files, ["scsn_order_import"])) == {}
    assert flow_lookups(_flow(_erp_target("isah_erp"), [])) == {}
