"""SCSN order import checks 1 to 7: one case per sentence of seed 002's checks (SPEC.md 5).

Each table holds the cases of one check; a case names the seed sentence it
covers, the message's lines, the ERP master data, and the errors and warnings
expected in order (INFO decisions are checked where a case names them). The
response code and whether a sales order is created follow from those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.documents import (
    Discount,
    Order,
    OrderLine,
    Party,
    PartyIdentifier,
    Problem,
    ResponseCode,
    Severity,
)
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
from koppel.rules.scsn_order_checks import (
    NEW_ORDER_TYPE_CODES,
    ImportDecision,
    ImportOptions,
    check_order_import,
    line_amount,
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO
ACCEPTED = ResponseCode.ACCEPTED
CHANGED = ResponseCode.ACCEPTED_WITH_CHANGES
REJECTED = ResponseCode.REJECTED

#: The severity of every code the checks emit: a case lists codes, this says what they weigh.
SEVERITIES: Mapping[str, Severity] = {
    "scsn.customer.unknown": ERROR,
    "scsn.sales_type.missing": ERROR,
    "scsn.sales_type.from_customer": INFO,
    "scsn.sales_type.from_default": INFO,
    "scsn.order.duplicate": ERROR,
    "scsn.order.updates_unconfirmed": WARNING,
    "scsn.article.missing_code": ERROR,
    "scsn.article.unknown": ERROR,
    "scsn.article.codes_disagree": ERROR,
    "scsn.article.other_customer": ERROR,
    "scsn.revision.unknown": ERROR,
    "scsn.revision.unreleased": ERROR,
    "scsn.revision.none_released": ERROR,
    "scsn.revision.latest_released": INFO,
    "scsn.revision.customer_mismatch": WARNING,
    "scsn.revision.customer_missing": WARNING,
    "scsn.revision.ignored": INFO,
    "scsn.price.found": INFO,
    "scsn.price.deviating_accepted": WARNING,
    "scsn.price.not_found": ERROR,
    "scsn.price.currency": ERROR,
    "scsn.price.mismatch": ERROR,
    "scsn.price.discount_mismatch": ERROR,
    "scsn.credit.limit_exceeded": ERROR,
    "scsn.credit.within_limit": INFO,
    "scsn.conformance.missing_seller": ERROR,
    "scsn.conformance.note": WARNING,
}

TODAY = date(2026, 11, 29)

# --- Master data factories ---------------------------------------------------------------------

CUSTOMER = Customer(
    customer_id="C100",
    name="Acme Machining",
    scsn_id="SCSN-ACME",
    sales_type="EL",
    accept_deviating_prices=False,
    credit_check=False,
    credit_limit=None,
    credit_includes_quotes=False,
    credit_includes_orders=False,
    currency="EUR",
    price_list_id="PL-ACME",
    discount_percentage=None,
)

BOLT = Article("BOLT-10", "Hex bolt M10", None)
PLATE = Article(
    "PLATE-20",
    "Base plate",
    None,
    (Revision("A", True, 1), Revision("B", True, 2), Revision("C", False, 3)),
)
DRAFT = Article("DRAFT-30", "Prototype bracket", None, (Revision("A", False, 1),))
OWN_JIG = Article("JIG-40", "Acme's own jig", "C100")
FOREIGN_JIG = Article("JIG-50", "Another customer's jig", "C999")
ARTICLES = {a.article_code: a for a in (BOLT, PLATE, DRAFT, OWN_JIG, FOREIGN_JIG)}

CUSTOMER_ARTICLES = {
    ca.customer_code: ca
    for ca in (
        CustomerArticle("ACME-BOLT", "BOLT-10", None),
        CustomerArticle("ACME-PLATE", "PLATE-20", "B"),
        CustomerArticle("ACME-PLATE-BARE", "PLATE-20", None),
        CustomerArticle("ACME-JIG-50", "JIG-50", None),
        CustomerArticle("ACME-GONE", "GONE-99", None),
    )
}

LIST_PRICES = {"BOLT-10": "10.00", "PLATE-20": "20.00", "DRAFT-30": "30.00", "JIG-40": "40.00"}


def price(
    article_code: str,
    unit_price: str,
    min_quantity: str = "1",
    *,
    currency: str = "EUR",
    discount: str | None = None,
    source: str = "price list DEFAULT",
) -> PriceAgreement:
    return PriceAgreement(
        article_code=article_code,
        currency=currency,
        unit_price=Decimal(unit_price),
        min_quantity=Decimal(min_quantity),
        discount_percentage=None if discount is None else Decimal(discount),
        source=source,
    )


def prices(*agreements: PriceAgreement) -> dict[str, tuple[PriceAgreement, ...]]:
    """Agreements grouped by article code, as the reader hands them over."""
    grouped: dict[str, tuple[PriceAgreement, ...]] = {}
    for agreement in agreements:
        grouped[agreement.article_code] = (*grouped.get(agreement.article_code, ()), agreement)
    return grouped


DEFAULT_LIST = prices(*(price(code, amount) for code, amount in LIST_PRICES.items()))

DATA = OrderMasterData(
    customer=CUSTOMER,
    default_sales_type="DEF",
    deviating_price_status="DEV",
    existing_order=None,
    articles=ARTICLES,
    customer_articles=CUSTOMER_ARTICLES,
    default_price_list=DEFAULT_LIST,
    currency_decimals={"EUR": 2, "JPY": 0},
)


def customer(**changes: Any) -> Customer:
    return replace(CUSTOMER, **changes)


def data(**changes: Any) -> OrderMasterData:
    return replace(DATA, **changes)


def with_customer(**changes: Any) -> OrderMasterData:
    return data(customer=customer(**changes))


# --- Message factories -------------------------------------------------------------------------


def line(
    supplier: str | None = "BOLT-10",
    *,
    line_id: str = "1",
    unit_price: str | None = "10.00",
    quantity: str = "5",
    customer_code: str | None = None,
    revision: str | None = None,
    customer_revision: str | None = None,
    discounts: tuple[Discount, ...] = (),
) -> OrderLine:
    return OrderLine(
        line_id=line_id,
        supplier_article_code=supplier,
        supplier_article_revision=revision,
        customer_article_code=customer_code,
        customer_article_revision=customer_revision,
        quantity=Decimal(quantity),
        unit_price=None if unit_price is None else Decimal(unit_price),
        discounts=list(discounts),
    )


BUYER = Party(
    id="acme-internal",
    name="Acme Machining",
    identifiers=[PartyIdentifier(value="SCSN-ACME", scheme="SCSN")],
)
SELLER = Party(
    id="koppel-parts", name="Koppel Parts", identifiers=[PartyIdentifier(value="SCSN-KP")]
)


def order(*lines: OrderLine, type_code: str | None = "New", currency: str = "EUR") -> Order:
    return Order(
        order_id="PO-4711",
        order_type_code=type_code,
        currency=currency,
        buyer=BUYER,
        seller=SELLER,
        lines=list(lines) or [line()],
    )


def options(*, revisions: bool = False) -> ImportOptions:
    return ImportOptions(revision_management=revisions, response_id="PO-4711-m1", today=TODAY)


# --- The table's shape and its one assertion -----------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One seed sentence: a message, the master data, and what the checks must find."""

    sentence: str
    lines: tuple[OrderLine, ...] = (line(),)
    data: OrderMasterData = DATA
    type_code: str | None = "New"
    currency: str = "EUR"
    revisions: bool = False
    faults: tuple[str, ...] = ()
    """Codes of the errors and warnings, in the order the checks record them."""
    infos: tuple[str, ...] = ()
    """INFO codes that must be among the problems."""
    taken: Mapping[str, object] = field(default_factory=dict)
    """Attributes of the first sales order line (cases that create the order)."""


def decide(case: Case) -> ImportDecision:
    message = order(*case.lines, type_code=case.type_code, currency=case.currency)
    return check_order_import(message, case.data, options(revisions=case.revisions))


def expected_response(codes: tuple[str, ...]) -> ResponseCode:
    severities = {SEVERITIES[code] for code in codes}
    if ERROR in severities:
        return REJECTED
    return CHANGED if WARNING in severities else ACCEPTED


def assert_case(case: Case) -> ImportDecision:
    decision = decide(case)
    for problem in decision.problems:
        assert problem.severity is SEVERITIES[problem.code], problem
        assert problem.field, problem
    faults = [p.code for p in decision.problems if p.severity is not INFO]
    assert faults == list(case.faults)
    infos = {p.code for p in decision.problems if p.severity is INFO}
    assert set(case.infos) <= infos
    assert decision.response.response is expected_response(case.faults)
    assert (decision.sales_order is None) is (decision.response.response is REJECTED)
    if decision.sales_order is not None:
        taken = decision.sales_order.lines[0]
        assert {name: getattr(taken, name) for name in case.taken} == dict(case.taken)
    return decision


# --- Customer and check 1: sales type -------------------------------------------------------------

SALES_TYPE = [
    Case(
        "no customer has the buyer's SCSN id: error, and the article checks still run",
        lines=(line("NOPE"),),
        data=data(customer=None),
        faults=("scsn.customer.unknown", "scsn.article.unknown"),
    ),
    Case(
        "Isah verwendet hierfür einen Suchpfad: the customer's sales type first",
        data=data(default_sales_type=None),
        infos=("scsn.sales_type.from_customer",),
    ),
    Case(
        "Suchpfad: without one on the customer, the global default",
        data=with_customer(sales_type=None),
        infos=("scsn.sales_type.from_default",),
    ),
    Case(
        "Wenn an keiner der beiden Stellen ein Wert eingestellt wurde: not imported",
        data=replace(with_customer(sales_type=None), default_sales_type=None),
        faults=("scsn.sales_type.missing",),
    ),
]


@pytest.mark.parametrize("case", SALES_TYPE, ids=lambda c: c.sentence)
def test_sales_type(case: Case) -> None:
    assert_case(case)


def test_the_sales_type_found_is_the_orders() -> None:
    from_customer = decide(Case("customer"))
    from_default = decide(Case("default", data=with_customer(sales_type=None)))

    assert from_customer.sales_order is not None
    assert from_customer.sales_order.sales_type == "EL"
    assert from_default.sales_order is not None
    assert from_default.sales_order.sales_type == "DEF"


# --- Check 2: no duplicate ------------------------------------------------------------------------

CONFIRMED = ExistingOrder("SO-900", confirmed=True, amount=Decimal("50.00"))
UNCONFIRMED = ExistingOrder("SO-901", confirmed=False, amount=Decimal("50.00"))

DUPLICATES = [
    Case("the order (reference, buyer SCSN id) does not exist yet: imported"),
    Case(
        "Wenn die Kombination bereits vorhanden ist [...] wird der Import unterbrochen",
        data=data(existing_order=CONFIRMED),
        faults=("scsn.order.duplicate",),
    ),
    Case(
        "a confirmed order is a duplicate even for a message of type New",
        data=data(existing_order=CONFIRMED),
        type_code="NEW",
        faults=("scsn.order.duplicate",),
    ),
    Case(
        "Typ „New“ for an order read in but not confirmed: the order is updated",
        data=data(existing_order=UNCONFIRMED),
        faults=("scsn.order.updates_unconfirmed",),
    ),
    Case(
        "New without a type code: updates the unconfirmed order",
        data=data(existing_order=UNCONFIRMED),
        type_code=None,
        faults=("scsn.order.updates_unconfirmed",),
    ),
    Case(
        "New as UNCL1001 code 220: updates the unconfirmed order",
        data=data(existing_order=UNCONFIRMED),
        type_code="220",
        faults=("scsn.order.updates_unconfirmed",),
    ),
    Case(
        "an unconfirmed order and a message not of type New: a duplicate",
        data=data(existing_order=UNCONFIRMED),
        type_code="Change",
        faults=("scsn.order.duplicate",),
    ),
]


@pytest.mark.parametrize("case", DUPLICATES, ids=lambda c: c.sentence)
def test_duplicates(case: Case) -> None:
    assert_case(case)


def test_a_new_message_updates_the_unconfirmed_order() -> None:
    """Seed: "In diesem Fall wird der bestehende Kundenauftrag [...] aktualisiert."."""
    decision = decide(Case("update", data=data(existing_order=UNCONFIRMED)))

    assert decision.sales_order is not None
    assert decision.sales_order.replaces_unconfirmed == "SO-901"
    assert decision.response.sales_order_number == "SO-901"
    assert [n.code for n in decision.response.notes] == ["scsn.order.updates_unconfirmed"]


def test_the_new_type_codes_are_one_documented_set() -> None:
    assert {"new", "220"} == NEW_ORDER_TYPE_CODES


# --- Check 3: known articles ----------------------------------------------------------------------

ARTICLE_CODES = [
    Case(
        "the supplier article code alone resolves to the article",
        taken={"article_code": "BOLT-10", "customer_article_code": None},
    ),
    Case(
        "the customer article code alone resolves via the customer's articles",
        lines=(line(None, customer_code="ACME-BOLT"),),
        taken={"article_code": "BOLT-10", "customer_article_code": "ACME-BOLT"},
    ),
    Case(
        "supplier and customer code both given and naming the same article",
        lines=(line("BOLT-10", customer_code="ACME-BOLT"),),
        taken={"article_code": "BOLT-10", "customer_article_code": "ACME-BOLT"},
    ),
    Case(
        "supplier and customer code naming different articles: error",
        lines=(line("BOLT-10", customer_code="ACME-PLATE"),),
        faults=("scsn.article.codes_disagree",),
    ),
    Case(
        "ob folgende Daten ausgefüllt sind: a line without any article code",
        lines=(line(None),),
        faults=("scsn.article.missing_code",),
    ),
    Case(
        "zurückzuführen auf einen Artikel: an unknown supplier code",
        lines=(line("NOPE"),),
        faults=("scsn.article.unknown",),
    ),
    Case(
        "zurückzuführen auf einen Artikel: an unknown customer code",
        lines=(line(None, customer_code="ACME-NOPE"),),
        faults=("scsn.article.unknown",),
    ),
    Case(
        "a customer code whose article is not in the ERP",
        lines=(line(None, customer_code="ACME-GONE"),),
        faults=("scsn.article.unknown",),
    ),
    Case(
        "both codes given, the supplier's unknown: that code is named",
        lines=(line("NOPE", customer_code="ACME-BOLT"),),
        faults=("scsn.article.unknown",),
    ),
]


@pytest.mark.parametrize("case", ARTICLE_CODES, ids=lambda c: c.sentence)
def test_known_articles(case: Case) -> None:
    assert_case(case)


# --- Check 4: customer-specific articles ----------------------------------------------------------

CUSTOMER_SPECIFIC = [
    Case(
        "ein kundenspezifischer Artikel of this very customer: imported",
        lines=(line("JIG-40", unit_price="40.00"),),
        taken={"article_code": "JIG-40"},
    ),
    Case(
        "mit einem anderen Kunden verknüpft: the import is stopped",
        lines=(line("JIG-50", unit_price="50.00"),),
        data=data(default_price_list={**DEFAULT_LIST, **prices(price("JIG-50", "50.00"))}),
        faults=("scsn.article.other_customer",),
    ),
    Case(
        "another customer's article reached through a customer code",
        lines=(line(None, customer_code="ACME-JIG-50", unit_price="50.00"),),
        data=data(default_price_list={**DEFAULT_LIST, **prices(price("JIG-50", "50.00"))}),
        faults=("scsn.article.other_customer",),
    ),
]


@pytest.mark.parametrize("case", CUSTOMER_SPECIFIC, ids=lambda c: c.sentence)
def test_customer_specific_articles(case: Case) -> None:
    assert_case(case)


# --- Check 5: revision indexes --------------------------------------------------------------------

REVISIONS = [
    Case(
        "Steht bei Ihrem Artikelcode ein Änderungsindex [...] vorhanden und freigegeben",
        lines=(line("PLATE-20", unit_price="20.00", revision="A"),),
        revisions=True,
        taken={"revision": "A"},
    ),
    Case(
        "the supplier code's revision does not exist: stopped",
        lines=(line("PLATE-20", unit_price="20.00", revision="Z"),),
        revisions=True,
        faults=("scsn.revision.unknown",),
    ),
    Case(
        "the supplier code's revision is not released: stopped",
        lines=(line("PLATE-20", unit_price="20.00", revision="C"),),
        revisions=True,
        faults=("scsn.revision.unreleased",),
    ),
    Case(
        "Andernfalls wird der zuletzt freigegebene Änderungsindex verwendet",
        lines=(line("PLATE-20", unit_price="20.00"),),
        revisions=True,
        infos=("scsn.revision.latest_released",),
        taken={"revision": "B"},
    ),
    Case(
        "an article without revisions: none to use",
        revisions=True,
        taken={"revision": None},
    ),
    Case(
        "an article with revisions of which none is released: error",
        lines=(line("DRAFT-30", unit_price="30.00"),),
        revisions=True,
        faults=("scsn.revision.none_released",),
    ),
    Case(
        "Wenn ein Änderungsindex vorhanden ist und diese stimmen überein: valid",
        lines=(
            line("PLATE-20", unit_price="20.00", customer_code="ACME-PLATE", customer_revision="B"),
        ),
        revisions=True,
        taken={"revision": "B", "customer_article_code": "ACME-PLATE"},
    ),
    Case(
        "Andernfalls wird Isah den Import zwar ausführen, aber [...] eine Warnung",
        lines=(
            line("PLATE-20", unit_price="20.00", customer_code="ACME-PLATE", customer_revision="X"),
        ),
        revisions=True,
        faults=("scsn.revision.customer_mismatch",),
        taken={"revision": "B"},
    ),
    Case(
        "Diese Warnung [...] wenn beim Artikelcode des Kunden keine Änderungsindexnummer steht",
        lines=(
            line(
                "PLATE-20",
                unit_price="20.00",
                customer_code="ACME-PLATE-BARE",
                customer_revision="B",
            ),
        ),
        revisions=True,
        faults=("scsn.revision.customer_missing",),
    ),
    Case(
        "a customer code without a revision in the message: nothing to compare",
        lines=(line("PLATE-20", unit_price="20.00", customer_code="ACME-PLATE-BARE"),),
        revisions=True,
        taken={"revision": "B"},
    ),
    Case(
        "nur ein Artikelcode des Kunden, revision differs: warning, the latest released used",
        lines=(line(None, unit_price="20.00", customer_code="ACME-PLATE", customer_revision="A"),),
        revisions=True,
        faults=("scsn.revision.customer_mismatch",),
        taken={"revision": "B", "article_code": "PLATE-20"},
    ),
    Case(
        "nur ein Artikelcode des Kunden, none stored: warning, the import is not stopped",
        lines=(
            line(None, unit_price="20.00", customer_code="ACME-PLATE-BARE", customer_revision="B"),
        ),
        revisions=True,
        faults=("scsn.revision.customer_missing",),
    ),
    Case(
        "nur ein Artikelcode des Kunden, matching: no warning",
        lines=(line(None, unit_price="20.00", customer_code="ACME-PLATE", customer_revision="B"),),
        revisions=True,
        taken={"revision": "B"},
    ),
    Case(
        "nicht mit der Änderungsindex-Verwaltung: a supplier revision is not considered",
        lines=(line("PLATE-20", unit_price="20.00", revision="Z"),),
        infos=("scsn.revision.ignored",),
        taken={"revision": None},
    ),
    Case(
        "nicht mit der Änderungsindex-Verwaltung: a customer revision is not compared",
        lines=(
            line("PLATE-20", unit_price="20.00", customer_code="ACME-PLATE", customer_revision="X"),
        ),
        infos=("scsn.revision.ignored",),
        taken={"revision": None},
    ),
    Case(
        "nicht mit der Änderungsindex-Verwaltung: an article without released revision is fine",
        lines=(line("DRAFT-30", unit_price="30.00"),),
        taken={"revision": None},
    ),
]


@pytest.mark.parametrize("case", REVISIONS, ids=lambda c: c.sentence)
def test_revisions(case: Case) -> None:
    assert_case(case)


# --- Check 6: prices, deviating prices accepted ---------------------------------------------------

ACCEPTING = with_customer(accept_deviating_prices=True)

DEVIATING = [
    Case(
        "Abweichende Preise akzeptieren: a differing price is taken, manual, with its status",
        lines=(line(unit_price="9.50"),),
        data=ACCEPTING,
        faults=("scsn.price.deviating_accepted",),
        taken={
            "unit_price": Decimal("9.50"),
            "manually_priced": True,
            "status": "DEV",
            "amount": Decimal("47.50"),
        },
    ),
    Case(
        "accepting deviating prices, a price equal to the ERP's: an ordinary line",
        data=ACCEPTING,
        taken={"unit_price": Decimal("10.00"), "manually_priced": False, "status": None},
    ),
    Case(
        "accepting deviating prices, no price in the message: the ERP's price",
        lines=(line(unit_price=None),),
        data=ACCEPTING,
        taken={"unit_price": Decimal("10.00"), "manually_priced": False},
    ),
    Case(
        "accepting deviating prices, a differing discount: taken over as deviating",
        lines=(line(discounts=(Discount(percentage=Decimal(10)),)),),
        data=ACCEPTING,
        faults=("scsn.price.deviating_accepted",),
        taken={"discount_percentage": Decimal(10), "manually_priced": True, "amount": Decimal(45)},
    ),
    Case(
        "accepting deviating prices, no price but a differing discount: the ERP price, manual",
        lines=(line(unit_price=None, discounts=(Discount(percentage=Decimal(10)),)),),
        data=ACCEPTING,
        faults=("scsn.price.deviating_accepted",),
        taken={
            "unit_price": Decimal("10.00"),
            "discount_percentage": Decimal(10),
            "manually_priced": True,
        },
    ),
    Case(
        "accepting deviating prices, no ERP price at all: the message's price is taken",
        lines=(line("JIG-50", unit_price="55.00"),),
        data=replace(
            ACCEPTING, articles={**ARTICLES, "JIG-50": replace(FOREIGN_JIG, customer_id=None)}
        ),
        faults=("scsn.price.deviating_accepted",),
        taken={"unit_price": Decimal("55.00"), "manually_priced": True},
    ),
    Case(
        "accepting deviating prices, no price in the message nor in the ERP: error",
        lines=(line("JIG-50", unit_price=None),),
        data=replace(
            ACCEPTING, articles={**ARTICLES, "JIG-50": replace(FOREIGN_JIG, customer_id=None)}
        ),
        faults=("scsn.price.not_found",),
    ),
]


@pytest.mark.parametrize("case", DEVIATING, ids=lambda c: c.sentence)
def test_deviating_prices_accepted(case: Case) -> None:
    assert_case(case)


def test_the_deviation_is_shown_on_the_message() -> None:
    """Seed: "Der abweichende Preis wird außerdem im Fenster Elektronische Meldungen angezeigt."."""
    decision = assert_case(DEVIATING[0])

    (shown,) = [p for p in decision.problems if p.code == "scsn.price.deviating_accepted"]
    assert "9.50 EUR" in shown.message
    assert "10.00 EUR" in shown.message
    assert "line 1" in shown.message
    assert shown.field == "lines[0].unit_price"


# --- Check 6: prices checked against the search path ----------------------------------------------

CUSTOMER_LIST = prices(
    price("BOLT-10", "9.00", source="price list PL-ACME"),
    price("BOLT-10", "8.00", "10", source="price list PL-ACME"),
    price("BOLT-10", "7.00", "100", source="price list PL-ACME"),
)
CUSTOMER_PRICES = prices(
    price("BOLT-10", "6.00", "20", discount="3", source="customer price"),
)
SEARCH_PATH = data(customer_price_list=CUSTOMER_LIST, customer_prices=CUSTOMER_PRICES)
GENERAL_DISCOUNT = replace(SEARCH_PATH, customer=customer(discount_percentage=Decimal(5)))


def percent(value: str) -> tuple[Discount, ...]:
    return (Discount(percentage=Decimal(value)),)


PRICES = [
    Case(
        "currency, price and discount equal the default price list's: imported",
        taken={"unit_price": Decimal("10.00"), "manually_priced": False, "amount": Decimal(50)},
        infos=("scsn.price.found",),
    ),
    Case(
        "the order's currency differs from the price found: error",
        currency="USD",
        faults=("scsn.price.currency",),
    ),
    Case(
        "the message's price differs from the search path's: error",
        lines=(line(unit_price="9.99"),),
        faults=("scsn.price.mismatch",),
    ),
    Case(
        "the price is compared to the currency's decimals",
        lines=(line(unit_price="10.004"),),
        taken={"unit_price": Decimal("10.00")},
    ),
    Case(
        "a currency without decimals compares whole units",
        lines=(line(unit_price="1500.4"),),
        currency="JPY",
        data=data(default_price_list=prices(price("BOLT-10", "1500", currency="JPY"))),
        taken={"unit_price": Decimal(1500), "amount": Decimal(7500)},
    ),
    Case(
        "the message's discount differs from the search path's: error",
        lines=(line(discounts=percent("5")),),
        faults=("scsn.price.discount_mismatch",),
    ),
    Case(
        "no price for the article on the search path: error",
        lines=(line("JIG-50", unit_price="50.00"),),
        data=data(articles={**ARTICLES, "JIG-50": replace(FOREIGN_JIG, customer_id=None)}),
        faults=("scsn.price.not_found",),
    ),
    Case(
        "no price in the message: the search path's price is taken",
        lines=(line(unit_price=None),),
        taken={"unit_price": Decimal("10.00"), "manually_priced": False},
    ),
    Case(
        "the customer's price list comes before the default price list",
        lines=(line(unit_price="9.00"),),
        data=SEARCH_PATH,
        taken={"unit_price": Decimal("9.00")},
    ),
    Case(
        "the customer's price list beats the default: the default's price is a mismatch",
        data=SEARCH_PATH,
        faults=("scsn.price.mismatch",),
    ),
    Case(
        "quantity break: the largest minimum quantity not above the line's",
        lines=(line(unit_price="8.00", quantity="10"),),
        data=SEARCH_PATH,
        taken={"unit_price": Decimal("8.00"), "amount": Decimal(80)},
    ),
    Case(
        "quantity break: below its minimum quantity, the break does not apply",
        lines=(line(unit_price="8.00", quantity="9"),),
        data=SEARCH_PATH,
        faults=("scsn.price.mismatch",),
    ),
    Case(
        "a customer price beats the price list, with its own discount",
        lines=(line(unit_price="6.00", quantity="20", discounts=percent("3")),),
        data=GENERAL_DISCOUNT,
        taken={"unit_price": Decimal("6.00"), "discount_percentage": Decimal(3)},
    ),
    Case(
        "a customer price below its minimum quantity gives way to the price list",
        lines=(line(unit_price="8.00", quantity="19"),),
        data=SEARCH_PATH,
        taken={"unit_price": Decimal("8.00")},
    ),
    Case(
        "a price-list price gets the customer's general discount",
        lines=(line(unit_price="9.00", discounts=percent("5")),),
        data=GENERAL_DISCOUNT,
        taken={"discount_percentage": Decimal(5), "amount": Decimal("42.75")},
    ),
    Case(
        "a stated price without the customer's general discount: discount mismatch",
        lines=(line(unit_price="9.00"),),
        data=GENERAL_DISCOUNT,
        faults=("scsn.price.discount_mismatch",),
    ),
    Case(
        "an amount discount counts as its share of quantity times price",
        lines=(line(unit_price="9.00", discounts=(Discount(amount=Decimal("2.25")),)),),
        data=GENERAL_DISCOUNT,
        taken={"discount_percentage": Decimal(5)},
    ),
    Case(
        "several discounts on a line add up",
        lines=(line(unit_price="9.00", discounts=(*percent("2"), *percent("3"))),),
        data=GENERAL_DISCOUNT,
        taken={"discount_percentage": Decimal(5)},
    ),
    Case(
        "no price and no discount in the message: the path's discount is taken",
        lines=(line(unit_price=None),),
        data=GENERAL_DISCOUNT,
        taken={"unit_price": Decimal("9.00"), "discount_percentage": Decimal(5)},
    ),
    Case(
        "the price in the order's currency wins within a step",
        lines=(line(unit_price="11.00"),),
        currency="USD",
        data=data(
            default_price_list=prices(
                price("BOLT-10", "10.00"), price("BOLT-10", "11.00", currency="USD")
            )
        ),
        taken={"unit_price": Decimal("11.00")},
    ),
    Case(
        "currency, price and discount all wrong: each is an error",
        lines=(line(unit_price="9.99", discounts=percent("1")),),
        currency="USD",
        faults=("scsn.price.currency", "scsn.price.mismatch", "scsn.price.discount_mismatch"),
    ),
]


@pytest.mark.parametrize("case", PRICES, ids=lambda c: c.sentence)
def test_prices_checked(case: Case) -> None:
    assert_case(case)


def test_a_price_mismatch_names_both_prices() -> None:
    decision = assert_case(PRICES[2])

    (mismatch,) = [p for p in decision.problems if p.code == "scsn.price.mismatch"]
    assert "9.99 EUR" in mismatch.message
    assert "10.00 EUR" in mismatch.message


def test_line_amounts_round_half_up_to_the_currency() -> None:
    cheap = data(default_price_list=prices(price("BOLT-10", "0.125")))
    decision = decide(Case("round", lines=(line(unit_price=None, quantity="1"),), data=cheap))

    assert decision.sales_order is not None
    assert decision.sales_order.lines[0].amount == Decimal("0.13")
    assert line_amount(Decimal(3), Decimal("0.335"), Decimal(0), 2) == Decimal("1.01")


# --- Check 7: credit limit ------------------------------------------------------------------------


def credit(
    limit: str | None = "1000",
    *,
    invoices: str = "900",
    quotes: str = "0",
    orders: str = "0",
    check: bool = True,
    with_quotes: bool = False,
    with_orders: bool = False,
) -> OrderMasterData:
    """Master data of a customer with credit checking; the order itself is 50.00."""
    return data(
        customer=customer(
            credit_check=check,
            credit_limit=None if limit is None else Decimal(limit),
            credit_includes_quotes=with_quotes,
            credit_includes_orders=with_orders,
        ),
        exposure=CreditExposure(Decimal(invoices), Decimal(quotes), Decimal(orders)),
    )


CREDIT = [
    Case("credit limit checking off: no check", data=credit("10", check=False)),
    Case(
        "open invoices plus this order within the limit",
        data=credit(),
        infos=("scsn.credit.within_limit",),
    ),
    Case("exactly at the limit does not exceed it", data=credit("950")),
    Case(
        "open invoices plus this order over the limit: error",
        data=credit(invoices="951"),
        faults=("scsn.credit.limit_exceeded",),
    ),
    Case(
        "Sind diese Felder nicht aktiviert: open quotes and orders do not count",
        data=credit(quotes="500", orders="500"),
    ),
    Case(
        "Beträge Statustyp „Angebot“: open quotes count",
        data=credit(quotes="51", with_quotes=True),
        faults=("scsn.credit.limit_exceeded",),
    ),
    Case(
        "Beträge Statustyp „Auftrag“: open orders count",
        data=credit(orders="51", with_orders=True),
        faults=("scsn.credit.limit_exceeded",),
    ),
    Case(
        "both flags: quotes and orders count, within the limit",
        data=credit("1100", quotes="50", orders="100", with_quotes=True, with_orders=True),
    ),
    Case("credit checking on without a limit: no limit", data=credit(None, invoices="1E9")),
]


@pytest.mark.parametrize("case", CREDIT, ids=lambda c: c.sentence)
def test_credit_limit(case: Case) -> None:
    assert_case(case)


def test_the_credit_problem_states_the_numbers() -> None:
    decision = decide(Case("over", data=credit(quotes="25", with_quotes=True, invoices="930")))

    (over,) = [p for p in decision.problems if p.code == "scsn.credit.limit_exceeded"]
    assert over.message == (
        "credit limit of customer C100 exceeded: open invoices 930 + open quotes 25 +"
        " this order 50.00 = 1005.00 > limit 1000"
    )


# --- Every problem at once, and the response ------------------------------------------------------

MESSY = Case(
    "every check runs and all problems are recorded, not only the first",
    lines=(
        line("NOPE", line_id="10"),
        line(unit_price="9.99", line_id="20"),
        line("PLATE-20", unit_price="20.00", revision="C", line_id="30"),
        line("JIG-50", unit_price="50.00", line_id="40"),
    ),
    data=data(
        customer=customer(sales_type=None, credit_check=True, credit_limit=Decimal(10)),
        default_sales_type=None,
        existing_order=CONFIRMED,
        default_price_list={**DEFAULT_LIST, **prices(price("JIG-50", "50.00"))},
    ),
    revisions=True,
    faults=(
        "scsn.sales_type.missing",
        "scsn.order.duplicate",
        "scsn.article.unknown",
        "scsn.price.mismatch",
        "scsn.revision.unreleased",
        "scsn.article.other_customer",
        "scsn.credit.limit_exceeded",
    ),
)


def test_every_problem_is_recorded() -> None:
    decision = assert_case(MESSY)

    fields = [p.field for p in decision.problems if p.severity is not INFO]
    assert fields == [
        "buyer",
        "order_id",
        "lines[0].supplier_article_code",
        "lines[1].unit_price",
        "lines[2].supplier_article_revision",
        "lines[3].supplier_article_code",
        "lines",
    ]
    messages = [p.message for p in decision.problems if p.severity is not INFO]
    assert [m.split(":")[0] for m in messages[2:6]] == ["line 10", "line 20", "line 30", "line 40"]


def test_reasons_sit_on_the_document_or_on_their_line() -> None:
    """A line's reason on that line, the order's on the document; each line has its own code."""
    decision = assert_case(MESSY)
    response = decision.response

    assert response.response is REJECTED
    assert [n.code for n in response.notes] == [
        "scsn.sales_type.missing",
        "scsn.order.duplicate",
        "scsn.credit.limit_exceeded",
    ]
    assert [(ln.line_id, ln.response) for ln in response.lines] == [
        ("10", REJECTED),
        ("20", REJECTED),
        ("30", REJECTED),
        ("40", REJECTED),
    ]
    assert [[n.code for n in ln.notes] for ln in response.lines] == [
        ["scsn.article.unknown"],
        ["scsn.price.mismatch"],
        ["scsn.revision.unreleased"],
        ["scsn.article.other_customer"],
    ]


def test_line_responses_accepted_changed_and_rejected() -> None:
    lines = (
        line(line_id="1"),
        line(
            "PLATE-20",
            line_id="2",
            unit_price="20.00",
            customer_code="ACME-PLATE",
            customer_revision="X",
        ),
        line("NOPE", line_id="3"),
    )
    decision = decide(Case("mixed", lines=lines, revisions=True))

    assert [ln.response for ln in decision.response.lines] == [ACCEPTED, CHANGED, REJECTED]
    assert decision.response.response is REJECTED
    assert decision.response.notes == []


def test_the_response_echoes_codes_quantity_price_and_revision() -> None:
    lines = (
        line("PLATE-20", unit_price=None, quantity="3", customer_code="ACME-PLATE"),
        line(None, line_id="2", customer_code="ACME-BOLT", unit_price="9.50"),
    )
    decision = decide(Case("echo", lines=lines, data=ACCEPTING, revisions=True))
    response = decision.response

    assert response.response is CHANGED
    assert (response.response_id, response.order_id, response.issue_date) == (
        "PO-4711-m1",
        "PO-4711",
        TODAY,
    )
    assert (response.buyer, response.seller, response.currency) == (BUYER, SELLER, "EUR")
    first, second = response.lines
    assert (first.supplier_article_code, first.supplier_article_revision) == ("PLATE-20", "B")
    assert (first.customer_article_code, first.quantity, first.unit_price) == (
        "ACME-PLATE",
        Decimal(3),
        Decimal("20.00"),
    )
    assert (first.response, second.response) == (ACCEPTED, CHANGED)
    assert (second.supplier_article_code, second.unit_price) == ("BOLT-10", Decimal("9.50"))
    assert [n.code for n in second.notes] == ["scsn.price.deviating_accepted"]


def test_the_sales_order_carries_the_resolved_lines() -> None:
    lines = (
        line("PLATE-20", unit_price="20.00", quantity="2", customer_code="ACME-PLATE"),
        line("BOLT-10", line_id="2", unit_price="9.50"),
    )
    decision = decide(Case("created", lines=lines, data=ACCEPTING, revisions=True))

    assert decision.sales_order is not None
    assert decision.sales_order.model_dump() == {
        "order_reference": "PO-4711",
        "buyer_scsn_id": "SCSN-ACME",
        "customer_id": "C100",
        "sales_type": "EL",
        "currency": "EUR",
        "order_type_code": "New",
        "replaces_unconfirmed": None,
        "requested_delivery_date": None,
        "note": None,
        "amount": Decimal("87.50"),
        "lines": [
            {
                "line_id": "1",
                "article_code": "PLATE-20",
                "revision": "B",
                "customer_article_code": "ACME-PLATE",
                "description": "Base plate",
                "quantity": Decimal(2),
                "unit": "PCE",
                "unit_price": Decimal("20.00"),
                "discount_percentage": Decimal(0),
                "manually_priced": False,
                "status": None,
                "amount": Decimal("40.00"),
            },
            {
                "line_id": "2",
                "article_code": "BOLT-10",
                "revision": None,
                "customer_article_code": None,
                "description": "Hex bolt M10",
                "quantity": Decimal(5),
                "unit": "PCE",
                "unit_price": Decimal("9.50"),
                "discount_percentage": Decimal(0),
                "manually_priced": True,
                "status": "DEV",
                "amount": Decimal("47.50"),
            },
        ],
    }


def test_the_buyer_scsn_id_falls_back_to_the_party_id() -> None:
    message = order().model_copy(update={"buyer": Party(id="SCSN-ACME")})
    decision = check_order_import(message, DATA, options())

    assert decision.sales_order is not None
    assert decision.sales_order.buyer_scsn_id == "SCSN-ACME"


CONFORMANCE = [
    (
        Problem(code="scsn.conformance.missing_seller", message="no seller", field="seller"),
        REJECTED,
    ),
    (
        Problem(
            code="scsn.conformance.note",
            message="line note too long",
            severity=WARNING,
            field="lines[0].note",
        ),
        CHANGED,
    ),
]


@pytest.mark.parametrize(("problem", "expected"), CONFORMANCE, ids=["error", "warning"])
def test_conformance_problems_are_merged(problem: Problem, expected: ResponseCode) -> None:
    """Check 8 runs elsewhere; its errors reject like any other, its warnings change."""
    decision = check_order_import(order(), DATA, options(), [problem])

    assert problem in decision.problems
    assert decision.response.response is expected
    assert (decision.sales_order is None) is (expected is REJECTED)
    placed = decision.response.lines[0].notes if expected is CHANGED else decision.response.notes
    assert [n.code for n in placed] == [problem.code]


# --- Properties -----------------------------------------------------------------------------------


def usually(draw: st.DrawFn, usual: Any, *rare: Any) -> Any:
    """``usual`` nine times in ten, else one of ``rare``: many drawn orders pass every check."""
    if draw(st.integers(min_value=0, max_value=9)) < 9:
        return usual
    return draw(st.sampled_from(rare))


REFERENCES = [("BOLT-10", None), ("PLATE-20", None), (None, "ACME-PLATE"), ("JIG-40", None)]
FAULTY_REFERENCES = [("PLATE-20", "ACME-BOLT"), ("DRAFT-30", None), ("JIG-50", None), (None, None)]

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)


@st.composite
def order_lines(draw: st.DrawFn, index: int) -> OrderLine:
    supplier, customer_code = usually(draw, draw(st.sampled_from(REFERENCES)), *FAULTY_REFERENCES)
    discounts = [Discount(percentage=draw(st.decimals(0, 20, places=1)))]
    return OrderLine(
        line_id=str(index + 1),
        supplier_article_code=supplier,
        supplier_article_revision=usually(draw, None, "A", "C", "Z"),
        customer_article_code=customer_code,
        customer_article_revision=usually(draw, None, "B", "X"),
        quantity=draw(st.decimals(min_value=1, max_value=200, places=0)),
        unit_price=usually(draw, None, draw(money)),
        discounts=usually(draw, [], discounts),
    )


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    return customer(
        sales_type=usually(draw, "EL", None),
        accept_deviating_prices=draw(st.booleans()),
        credit_check=draw(st.booleans()),
        credit_limit=draw(st.one_of(st.none(), money, st.just(Decimal(100_000)))),
        credit_includes_quotes=draw(st.booleans()),
        credit_includes_orders=draw(st.booleans()),
        discount_percentage=draw(st.sampled_from([None, Decimal(5)])),
    )


@st.composite
def messages(draw: st.DrawFn) -> tuple[Order, OrderMasterData, ImportOptions]:
    count = draw(st.integers(min_value=1, max_value=3))
    lines = [draw(order_lines(i)) for i in range(count)]
    master = data(
        customer=usually(draw, draw(customers()), None),
        default_sales_type=draw(st.sampled_from(["DEF", None])),
        existing_order=usually(draw, None, CONFIRMED, UNCONFIRMED),
        customer_prices=draw(st.sampled_from([{}, CUSTOMER_PRICES])),
        customer_price_list=draw(st.sampled_from([{}, CUSTOMER_LIST])),
        exposure=CreditExposure(*draw(st.lists(money, min_size=3, max_size=3))),
    )
    message = order(*lines, type_code=draw(st.sampled_from(["New", None, "220", "Change"])))
    return message, master, options(revisions=draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(messages())
def test_amounts_add_up_and_the_response_follows_the_problems(
    drawn: tuple[Order, OrderMasterData, ImportOptions],
) -> None:
    message, master, opts = drawn
    decision = check_order_import(message, master, opts)
    severities = {p.severity for p in decision.problems}

    if ERROR in severities:
        assert decision.response.response is REJECTED
        assert decision.sales_order is None
    else:
        assert decision.response.response is (CHANGED if WARNING in severities else ACCEPTED)
        assert decision.sales_order is not None
        assert decision.sales_order.amount == sum(ln.amount for ln in decision.sales_order.lines)
        for created in decision.sales_order.lines:
            assert created.amount == line_amount(
                created.quantity, created.unit_price, created.discount_percentage, 2
            )
    for index, answered in enumerate(decision.response.lines):
        own = {
            p.severity
            for p in decision.problems
            if p.field and p.field.startswith(f"lines[{index}]") and p.severity is not INFO
        }
        expected = REJECTED if ERROR in own else CHANGED if WARNING in own else ACCEPTED
        assert answered.response is expected
