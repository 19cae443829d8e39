"""The checks an ERP runs when it imports an SCSN order as a customer order (seed 002, SPEC.md 5).

Seed 002 describes what Isah checks when its Supply Chain Integration imports
an SCSN order message: "Nachstehend finden Sie die Kontrollen, die ausgeführt
werden, wenn der SCI einen neuen Auftrag in Ihre Datenbank importiert". Koppel
plays the SCI: :func:`check_order_import` runs checks 1 to 7 against the ERP's
master data as it is now (:class:`~koppel.rules.erp_master_data.OrderMasterData`),
merges in check 8 (SCSN conformance, computed by the format), and decides:

* the customer order to create (:class:`~koppel.documents.SalesOrder`), only
  when no check found an error ("der Bericht [wird] nicht als Auftrag importiert");
* the order response for the buyer, at line level where a reason is a line's;
* every problem of every check, not only the first, each with a stable code,
  severity and field, because the user fixes them all at once in the
  electronic-messages inbox ("Etwaige Probleme werden im Fenster Elektronische
  Meldungen angezeigt. Sobald die Probleme behoben wurden, können Sie die
  Meldung importieren."), plus INFO problems for the decisions taken on the
  way (which step of a search path gave the sales type or the price, which
  revision was used).

A problem's ``field`` names the canonical field at fault; a line's problems
use the line's position (``lines[1].supplier_article_code``) and name the
buyer's line id in the message. The response puts each problem whose field
starts with ``lines[i]`` on that line and every other one on the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from koppel.documents import (
    Order,
    OrderLine,
    OrderResponse,
    OrderResponseLine,
    Problem,
    ResponseCode,
    ResponseNote,
    SalesOrder,
    SalesOrderLine,
    Severity,
    has_errors,
)
from koppel.rules.erp_master_data import (
    Article,
    Customer,
    CustomerArticle,
    OrderMasterData,
    PriceAgreement,
)

ERROR = Severity.ERROR
WARNING = Severity.WARNING
INFO = Severity.INFO

#: Order type codes (lower case) that mean "New": a plain order. UBL ``OrderTypeCode``
#: is free text in SCSN messages, where "New" is the common value; UNCL1001 code 220
#: is "Order". A message without a type code is a new order as well.
NEW_ORDER_TYPE_CODES = frozenset({"new", "220"})

#: Decimals of a currency that ``OrderMasterData.currency_decimals`` does not list.
DEFAULT_CURRENCY_DECIMALS = 2

#: Discount percentages are compared to two decimals: an amount discount converted
#: to a percentage rarely comes out exact.
_PERCENT = Decimal("0.01")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]")


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """How one connection imports SCSN orders.

    Attributes:
        revision_management: The ERP works with revision indexes (Isah: a
            licence for "Änderungsindex-Verwaltung"); off, revisions in the
            message are not considered.
        response_id: The id of the order response, unique per message answered
            (the caller passes e.g. ``"<order_id>-<message id>"``).
        today: The response's issue date.
    """

    revision_management: bool = False
    response_id: str
    today: date


@dataclass(frozen=True)
class ImportDecision:
    """What the import of one SCSN order decided.

    Attributes:
        sales_order: The customer order to create (or to update an unconfirmed
            one with); None when any check found an error.
        response: The order response for the buyer, always: accepted,
            accepted with changes, or rejected with the reasons.
        problems: Every problem of every check (errors and warnings), the
            conformance problems passed in, and INFO problems for the decisions.
    """

    sales_order: SalesOrder | None
    response: OrderResponse
    problems: list[Problem]


def check_order_import(
    order: Order,
    data: OrderMasterData,
    options: ImportOptions,
    conformance: Sequence[Problem] = (),
) -> ImportDecision:
    """Run checks 1 to 7 of seed 002 on one order message and decide what to create and answer.

    Every check runs on every message and all problems are recorded, so a user
    sees the whole list at once. Without a customer for the buyer's SCSN id,
    the checks that need the customer (sales type, customer-specific articles,
    prices, credit limit) cannot run; the article and revision checks still do.

    Args:
        order: The order as parsed from the SCSN message.
        data: The ERP's master data for this message, read just now.
        options: The connection's import options and the response's id and date.
        conformance: Check 8's problems (SCSN conformance); an error among them rejects.
    """
    buyer_id = buyer_scsn_id(order)
    customer = data.customer
    problems: list[Problem] = []
    sales_type: str | None = None
    if customer is None:
        problems.append(_unknown_customer(buyer_id))
    else:
        sales_type, found = _sales_type(customer, data)
        problems.append(found)
    replaces, duplicate = _check_duplicate(order, data)
    problems.extend(duplicate)
    decimals = data.currency_decimals.get(order.currency, DEFAULT_CURRENCY_DECIMALS)
    context = _Context(order, data, options, customer, decimals)
    lines = [_check_line(context, index, line) for index, line in enumerate(order.lines)]
    for checked in lines:
        problems.extend(checked.problems)
    problems.extend(_revisions_ignored(order, options))
    amount = sum((ln.amount for ln in lines if ln.amount is not None), _ZERO)
    if customer is not None:
        problems.extend(_check_credit(customer, data, amount))
    problems.extend(conformance)
    sales_order = None
    if not has_errors(problems) and customer is not None and sales_type is not None:
        sales_order = _sales_order(
            order,
            buyer_id=buyer_id,
            customer=customer,
            sales_type=sales_type,
            replaces=replaces,
            lines=lines,
            amount=amount,
        )
    response = _response(order, options, problems, lines, replaces)
    return ImportDecision(sales_order, response, problems)


def buyer_scsn_id(order: Order) -> str:
    """The buyer's SCSN id: its identifier under scheme ``SCSN``, else its id, else empty."""
    if order.buyer is None:
        return ""
    return order.buyer.identifier("SCSN") or order.buyer.id or ""


def is_new_order(order: Order) -> bool:
    """The message is of type "New" (see :data:`NEW_ORDER_TYPE_CODES`)."""
    code = order.order_type_code
    return code is None or code.strip().casefold() in NEW_ORDER_TYPE_CODES


def line_amount(
    quantity: Decimal, unit_price: Decimal, discount: Decimal, decimals: int
) -> Decimal:
    """Quantity times price less the discount percentage, rounded half up to the currency."""
    gross = quantity * unit_price * (1 - discount / _HUNDRED)
    return _round(gross, decimals)


# --- Customer, check 1 (sales type) and check 2 (duplicates) --------------------------------


def _unknown_customer(buyer_id: str) -> Problem:
    """No customer has the buyer's SCSN id: the order has no one to be created for."""
    return Problem(
        code="scsn.customer.unknown",
        message=(
            f"no customer in the ERP has the buyer's SCSN id {buyer_id!r}; sales type, "
            "customer-specific articles, prices and credit limit cannot be checked"
        ),
        severity=ERROR,
        field="buyer",
    )


def _sales_type(customer: Customer, data: OrderMasterData) -> tuple[str | None, Problem]:
    """Check 1: the sales type by its search path, customer first, then the global default.

    Seed: "Dazu muss auch das Pflichtfeld Verkaufsart ausgefüllt werden. Isah
    verwendet hierfür einen Suchpfad: [...] Wenn an keiner der beiden Stellen
    ein Wert eingestellt wurde, wird eine Meldung angezeigt und der Bericht
    nicht als Auftrag importiert." The step that gave it is recorded as INFO.
    """
    if customer.sales_type:
        return customer.sales_type, Problem(
            code="scsn.sales_type.from_customer",
            message=(
                f"sales type {customer.sales_type!r} from customer {customer.customer_id}'s"
                " setting for electronic orders"
            ),
            severity=INFO,
            field="buyer",
        )
    if data.default_sales_type:
        return data.default_sales_type, Problem(
            code="scsn.sales_type.from_default",
            message=(
                f"sales type {data.default_sales_type!r} from the global default: customer"
                f" {customer.customer_id} has no sales type for electronic orders"
            ),
            severity=INFO,
            field="buyer",
        )
    return None, Problem(
        code="scsn.sales_type.missing",
        message=(
            f"no sales type for electronic orders: customer {customer.customer_id} has none"
            " and no global default is set"
        ),
        severity=ERROR,
        field="buyer",
    )


def _check_duplicate(order: Order, data: OrderMasterData) -> tuple[str | None, list[Problem]]:
    """Check 2: the pair (order reference, buyer's SCSN id) must not exist yet.

    Seed: "Wenn die Kombination bereits vorhanden ist, wird das von Isah
    gemeldet und wird der Import des Kundenauftrags unterbrochen." Except:
    "Auftragsberichte mit dem Typ „New“ können sich auf Aufträge beziehen, die
    bereits in Ihrer Datenbank eingelesen sind, die Sie aber noch nicht
    bestätigt haben. [...] In diesem Fall wird der bestehende Kundenauftrag mit
    den Daten aus der Meldung aktualisiert." Returns the number of the order
    to update, if any; the update is a warning, so the buyer hears the order
    was accepted with changes.
    """
    existing = data.existing_order
    if existing is None:
        return None, []
    if not existing.confirmed and is_new_order(order):
        return existing.order_number, [
            Problem(
                code="scsn.order.updates_unconfirmed",
                message=(
                    f"order {order.order_id} was imported before as ERP order "
                    f"{existing.order_number} and is not confirmed yet: this New message updates it"
                ),
                severity=WARNING,
                field="order_id",
            )
        ]
    why = (
        "is already confirmed"
        if existing.confirmed
        else f"is not confirmed, but the message is of type {order.order_type_code!r}, not New"
    )
    return None, [
        Problem(
            code="scsn.order.duplicate",
            message=(
                f"order {order.order_id} of this buyer exists already as ERP order "
                f"{existing.order_number} and {why}"
            ),
            severity=ERROR,
            field="order_id",
        )
    ]


# --- Per line: checks 3 to 6 ----------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every line's checks read: the message, the master data and the options."""

    order: Order
    data: OrderMasterData
    options: ImportOptions
    customer: Customer | None
    decimals: int


@dataclass(frozen=True)
class _At:
    """Where a line's problem points: its position for the field, its id for the text."""

    index: int
    line: OrderLine

    def field(self, name: str | None = None) -> str:
        """The canonical field path of the line, or of one of its fields."""
        return f"lines[{self.index}]" + (f".{name}" if name else "")

    @property
    def label(self) -> str:
        """The line as the buyer knows it."""
        return f"line {self.line.line_id}"

    @property
    def code_field(self) -> str:
        """The field naming the article: the supplier code when given, else the customer's."""
        name = (
            "supplier_article_code" if self.line.supplier_article_code else "customer_article_code"
        )
        return self.field(name)


@dataclass(frozen=True)
class _Terms:
    """The price a line is imported at."""

    unit_price: Decimal
    discount: Decimal
    manually_priced: bool = False
    status: str | None = None


@dataclass(frozen=True)
class _CheckedLine:
    """One line after checks 3 to 6: what was resolved and what was found wrong."""

    at: _At
    article: Article | None
    revision: str | None
    terms: _Terms | None
    amount: Decimal | None
    problems: list[Problem]


@dataclass(frozen=True)
class _PathPrice:
    """The price the ERP's price search path gives a line, with the discount that goes with it."""

    agreement: PriceAgreement
    discount: Decimal


def _check_line(context: _Context, index: int, line: OrderLine) -> _CheckedLine:
    """Checks 3 to 6 on one line; a line whose article does not resolve skips 4 to 6."""
    at = _At(index, line)
    article, customer_article, problems = _resolve_article(at, context.data)
    if article is None:
        return _CheckedLine(at, None, None, None, None, problems)
    if context.customer is not None:
        problems.extend(_check_other_customer(at, article, context.customer))
    revision, revision_problems = _choose_revision(at, article, customer_article, context.options)
    problems.extend(revision_problems)
    terms: _Terms | None = None
    if context.customer is not None:
        terms, price_problems = _price_line(at, article, context.customer, context)
        problems.extend(price_problems)
    amount = None
    if terms is not None:
        amount = line_amount(line.quantity, terms.unit_price, terms.discount, context.decimals)
    return _CheckedLine(at, article, revision, terms, amount, problems)


def _resolve_article(
    at: _At, data: OrderMasterData
) -> tuple[Article | None, CustomerArticle | None, list[Problem]]:
    """Check 3: the supplier and/or customer article code must resolve to one known article.

    Seed: "Isah kontrolliert, ob folgende Daten ausgefüllt sind und auch
    zurückzuführen sind auf einen Artikel in Isah" — the supplier's and/or the
    customer's article code ("In der Meldung kann der Artikelcode des
    Lieferanten und/oder der Artikelcode des Kunden stehen"). The article is
    returned only when every code given resolves and they agree; the
    customer article is returned whenever the customer code resolves.
    """
    line = at.line
    if not line.supplier_article_code and not line.customer_article_code:
        return None, None, [_missing_code(at)]
    problems: list[Problem] = []
    by_supplier = _by_supplier_code(at, data, problems)
    customer_article, by_customer = _by_customer_code(at, data, problems)
    if problems:
        return None, customer_article, problems
    if (
        by_supplier is not None
        and by_customer is not None
        and by_supplier.article_code != by_customer.article_code
    ):
        return None, customer_article, [_codes_disagree(at, by_supplier, by_customer)]
    return by_supplier or by_customer, customer_article, problems


def _by_supplier_code(at: _At, data: OrderMasterData, problems: list[Problem]) -> Article | None:
    """The article under the line's supplier code; an error in ``problems`` when unknown."""
    code = at.line.supplier_article_code
    if not code:
        return None
    article = data.articles.get(code)
    if article is None:
        problems.append(
            _unknown_article(at, "supplier_article_code", f"supplier article code {code!r}")
        )
    return article


def _by_customer_code(
    at: _At, data: OrderMasterData, problems: list[Problem]
) -> tuple[CustomerArticle | None, Article | None]:
    """The customer article under the line's customer code and its article; errors when unknown."""
    code = at.line.customer_article_code
    if not code:
        return None, None
    customer_article = data.customer_articles.get(code)
    if customer_article is None:
        what = f"customer article code {code!r} (not known for this customer)"
        problems.append(_unknown_article(at, "customer_article_code", what))
        return None, None
    article = data.articles.get(customer_article.article_code)
    if article is None:
        what = f"customer article code {code!r} (its article {customer_article.article_code!r})"
        problems.append(_unknown_article(at, "customer_article_code", what))
    return customer_article, article


def _missing_code(at: _At) -> Problem:
    return Problem(
        code="scsn.article.missing_code",
        message=f"{at.label} names no article: neither a supplier nor a customer article code",
        severity=ERROR,
        field=at.field(),
    )


def _unknown_article(at: _At, name: str, what: str) -> Problem:
    return Problem(
        code="scsn.article.unknown",
        message=f"{at.label}: {what} does not resolve to an article in the ERP",
        severity=ERROR,
        field=at.field(name),
    )


def _codes_disagree(at: _At, by_supplier: Article, by_customer: Article) -> Problem:
    return Problem(
        code="scsn.article.codes_disagree",
        message=(
            f"{at.label}: supplier article code {at.line.supplier_article_code!r} is article"
            f" {by_supplier.article_code!r}, but customer article code"
            f" {at.line.customer_article_code!r} is article {by_customer.article_code!r}"
        ),
        severity=ERROR,
        field=at.field("customer_article_code"),
    )


def _check_other_customer(at: _At, article: Article, customer: Customer) -> list[Problem]:
    """Check 4: a customer-specific article may only be ordered by its own customer.

    Seed: "Isah kontrolliert, ob der spezifizierte Artikel ein
    kundenspezifischer Artikel ist. Ist dem so, aber ist der Artikel mit einem
    anderen Kunden verknüpft, als mit dem Kunden aus dem Auftragsbericht, dann
    meldet Isah das und wird der Import unterbrochen."
    """
    if article.customer_id is None or article.customer_id == customer.customer_id:
        return []
    return [
        Problem(
            code="scsn.article.other_customer",
            message=(
                f"{at.label}: article {article.article_code!r} is specific to customer"
                f" {article.customer_id}, not to {customer.customer_id}"
            ),
            severity=ERROR,
            field=at.code_field,
        )
    ]


# --- Check 5: revision indexes ---------------------------------------------------------------


def _choose_revision(
    at: _At, article: Article, customer_article: CustomerArticle | None, options: ImportOptions
) -> tuple[str | None, list[Problem]]:
    """Check 5: the revision the line is made in, when the ERP manages revisions.

    Seed: "Arbeiten Sie nicht mit der Änderungsindex-Verwaltung, dann werden
    eventuell eingetragene Änderungsindexnummern in Isah nicht berücksichtigt."
    With it, the supplier code's revision is validated (or the latest released
    one used) and the customer code's revision compared with the customer
    article's (a warning only).
    """
    if not options.revision_management:
        return None, []
    problems = _compare_customer_revision(at, customer_article)
    if at.line.supplier_article_code and at.line.supplier_article_revision:
        revision, problem = _named_revision(at, article, at.line.supplier_article_revision)
    else:
        revision, problem = _latest_released(at, article)
    return revision, [*problems, *([problem] if problem else [])]


def _named_revision(at: _At, article: Article, name: str) -> tuple[str | None, Problem | None]:
    """A revision named with the supplier code must exist and be released.

    Seed: "Steht bei Ihrem Artikelcode ein Änderungsindex, dann wird in Isah
    kontrolliert, ob dieser Änderungsindex vorhanden und freigegeben ist. Wenn
    diese Validierung möglich ist, wird in Isah der Änderungsindex auf der
    Verkaufsposition eingetragen. Ist die Validierung nicht möglich, dann wird
    eine Meldung ausgegeben und der Export gestoppt."
    """
    revision = article.revision(name)
    if revision is not None and revision.released:
        return name, None
    code, state = (
        ("scsn.revision.unknown", "does not exist")
        if revision is None
        else ("scsn.revision.unreleased", "is not released")
    )
    return None, Problem(
        code=code,
        message=f"{at.label}: revision {name!r} of article {article.article_code!r} {state}",
        severity=ERROR,
        field=at.field("supplier_article_revision"),
    )


def _latest_released(at: _At, article: Article) -> tuple[str | None, Problem | None]:
    """Without a supplier revision, the article's latest released revision is used.

    Seed: "Andernfalls wird in Isah der zuletzt freigegebene Änderungsindex des
    Artikels verwendet". An article with revisions of which none is released
    cannot be made in any: an error. One without revisions has none to use.
    """
    if not article.revisions:
        return None, None
    latest = article.latest_released()
    if latest is None:
        return None, Problem(
            code="scsn.revision.none_released",
            message=(
                f"{at.label}: article {article.article_code!r} has revisions, but none is released"
            ),
            severity=ERROR,
            field=at.code_field,
        )
    return latest.revision, Problem(
        code="scsn.revision.latest_released",
        message=(
            f"{at.label}: the message names no supplier revision; the latest released revision"
            f" {latest.revision!r} of article {article.article_code!r} is used"
        ),
        severity=INFO,
        field=at.field("supplier_article_revision"),
    )


def _compare_customer_revision(at: _At, customer_article: CustomerArticle | None) -> list[Problem]:
    """A customer revision in the message is compared with the one stored: a warning only.

    Seed: "Wenn ein Änderungsindex vorhanden ist und diese stimmen überein, dann
    ist die Validierung möglich. Andernfalls wird Isah den Import zwar
    ausführen, aber es wird dann bei der elektronischen Meldung eine Warnung
    angezeigt. Diese Warnung wird ebenfalls angezeigt, wenn beim Artikelcode
    des Kunden keine Änderungsindexnummer steht." The same holds when the
    message names only the customer code.
    """
    named = at.line.customer_article_revision
    if customer_article is None or not named or named == customer_article.revision:
        return []
    if customer_article.revision is None:
        code = "scsn.revision.customer_missing"
        stored = "no revision is stored for it in the ERP; it can be added there later"
    else:
        code = "scsn.revision.customer_mismatch"
        stored = f"the ERP has revision {customer_article.revision!r} for it"
    return [
        Problem(
            code=code,
            message=(
                f"{at.label}: customer article {customer_article.customer_code!r} comes with"
                f" revision {named!r}, but {stored}; the order is imported all the same"
            ),
            severity=WARNING,
            field=at.field("customer_article_revision"),
        )
    ]


def _revisions_ignored(order: Order, options: ImportOptions) -> list[Problem]:
    """Without revision management, revisions in the message are not considered (one INFO)."""
    if options.revision_management:
        return []
    ids = [
        line.line_id
        for line in order.lines
        if line.supplier_article_revision or line.customer_article_revision
    ]
    if not ids:
        return []
    return [
        Problem(
            code="scsn.revision.ignored",
            message=(
                f"revisions on line(s) {', '.join(ids)} are not considered: the connection"
                " does not manage revisions"
            ),
            severity=INFO,
            field="lines",
        )
    ]


# --- Check 6: prices -------------------------------------------------------------------------


def _price_line(
    at: _At, article: Article, customer: Customer, context: _Context
) -> tuple[_Terms | None, list[Problem]]:
    """Check 6: the price a line is imported at, checked unless deviating prices are accepted.

    Seed: "Wenn [...] das Feld Abweichende Preise akzeptieren aktiviert ist,
    erfolgt keine Kontrolle der Preise." Otherwise "Isah vergleicht diese Daten
    aus dem Auftragsbericht mit der Währung, den Preisen, und den Rabatten, die
    nach dem Suchpfad für Verkaufspreise in Isah für den Kundenauftrag zu
    gelten haben."
    """
    path = _path_price(article.article_code, at.line.quantity, customer, context)
    if customer.accept_deviating_prices:
        return _take_deviating(at, article, customer, path, context)
    if path is None:
        return None, [_price_not_found(at, article, customer)]
    return _check_terms(at, path, context)


def _path_price(
    article_code: str, quantity: Decimal, customer: Customer, context: _Context
) -> _PathPrice | None:
    """The price search path: customer prices, the customer's price list, the default list.

    The first step with a price for the article at this quantity wins; within
    it the quantity break with the largest minimum quantity not above the
    line's, preferring prices in the order's currency. A customer price has
    its own discount; a price-list price gets the customer's general discount.
    """
    data = context.data
    general = customer.discount_percentage or _ZERO
    steps: tuple[tuple[Mapping[str, tuple[PriceAgreement, ...]], Decimal | None], ...] = (
        (data.customer_prices, None),
        (data.customer_price_list, general),
        (data.default_price_list, general),
    )
    for prices, discount in steps:
        found = _quantity_break(prices.get(article_code, ()), quantity, context.order.currency)
        if found is not None:
            own = found.discount_percentage or _ZERO
            return _PathPrice(found, own if discount is None else discount)
    return None


def _quantity_break(
    candidates: Sequence[PriceAgreement], quantity: Decimal, currency: str
) -> PriceAgreement | None:
    """The applicable price with the largest minimum quantity, in ``currency`` if there is one."""
    applicable = [c for c in candidates if c.min_quantity <= quantity]
    in_currency = [c for c in applicable if c.currency == currency] or applicable
    return max(in_currency, key=lambda c: c.min_quantity, default=None)


def _stated_discount(line: OrderLine, unit_price: Decimal) -> Decimal | None:
    """The line's discount as a percentage; None when the line states neither price nor discount.

    A line that states its price states its discounts completely: none is 0 %.
    A percentage is taken as stated; an amount becomes a percentage of
    quantity times price (no share of a zero amount).
    """
    if line.unit_price is None and not line.discounts:
        return None
    gross = line.quantity * unit_price
    total = _ZERO
    for discount in line.discounts:
        if discount.percentage is not None:
            total += discount.percentage
        elif discount.amount is not None and gross:
            total += discount.amount / gross * _HUNDRED
    return total


def _check_terms(
    at: _At, path: _PathPrice, context: _Context
) -> tuple[_Terms | None, list[Problem]]:
    """Currency, price and discount must match the search path's, else an error for each.

    A line without a price in the message takes the path's; one without
    discounts as well takes the path's discount.
    """
    expected = path.agreement
    problems: list[Problem] = []
    if expected.currency != context.order.currency:
        problems.append(_currency_mismatch(at, expected, context.order.currency))
    stated = at.line.unit_price
    if stated is not None and not _same_price(stated, expected.unit_price, context.decimals):
        problems.append(_price_mismatch(at, stated, expected, context.order.currency))
    discount = _stated_discount(at.line, stated if stated is not None else expected.unit_price)
    if discount is not None and _percent(discount) != _percent(path.discount):
        problems.append(_discount_mismatch(at, discount, path))
    if problems:
        return None, problems
    return _Terms(expected.unit_price, path.discount), [_price_found(at, path)]


def _take_deviating(
    at: _At, article: Article, customer: Customer, path: _PathPrice | None, context: _Context
) -> tuple[_Terms | None, list[Problem]]:
    """Deviating prices accepted: the message's price is taken, flagged and shown.

    Seed: "Die Auftragsposition wird auch bei abweichenden Preisen akzeptiert.
    Der Status der Auftragsposition wird auf dem Status eingetragen, der für
    die abweichenden Preise in Isah Configuration eingestellt wurde. Auf der
    Auftragsposition stehen die Preise aus der Meldung und das Feld Manuell
    [...] ist aktiviert. Der abweichende Preis wird außerdem im Fenster
    Elektronische Meldungen angezeigt." A line whose terms agree with the
    path's, or that states none, takes the path's price unflagged; a line
    with neither a stated nor a path price has no price at all: an error.
    """
    if path is not None and _agrees(at.line, path, context):
        return _Terms(path.agreement.unit_price, path.discount), [_price_found(at, path)]
    price = at.line.unit_price
    if price is None:
        if path is None:
            return None, [_price_not_found(at, article, customer)]
        price = path.agreement.unit_price
    discount = _stated_discount(at.line, price)
    if discount is None:
        discount = path.discount if path is not None else _ZERO
    status = context.data.deviating_price_status
    terms = _Terms(price, discount, manually_priced=True, status=status)
    return terms, [_deviating_accepted(at, terms, path, context.order.currency)]


def _agrees(line: OrderLine, path: _PathPrice, context: _Context) -> bool:
    """The line's stated price, discount and currency equal the search path's."""
    expected = path.agreement
    stated = line.unit_price if line.unit_price is not None else expected.unit_price
    discount = _stated_discount(line, stated)
    return (
        expected.currency == context.order.currency
        and _same_price(stated, expected.unit_price, context.decimals)
        and (discount is None or _percent(discount) == _percent(path.discount))
    )


def _same_price(stated: Decimal, expected: Decimal, decimals: int) -> bool:
    """Prices are equal when equal to the currency's decimals."""
    return _round(stated, decimals) == _round(expected, decimals)


def _price_found(at: _At, path: _PathPrice) -> Problem:
    found = path.agreement
    return Problem(
        code="scsn.price.found",
        message=(
            f"{at.label}: price {found.unit_price} {found.currency} less {path.discount} %"
            f" from the {found.source} (from quantity {found.min_quantity})"
        ),
        severity=INFO,
        field=at.field("unit_price"),
    )


def _price_not_found(at: _At, article: Article, customer: Customer) -> Problem:
    return Problem(
        code="scsn.price.not_found",
        message=(
            f"{at.label}: no price for article {article.article_code!r} at quantity"
            f" {at.line.quantity} on customer {customer.customer_id}'s price search path"
            " (customer prices, the customer's price list, the default price list)"
        ),
        severity=ERROR,
        field=at.field("unit_price"),
    )


def _currency_mismatch(at: _At, expected: PriceAgreement, currency: str) -> Problem:
    return Problem(
        code="scsn.price.currency",
        message=(
            f"{at.label}: the order is in {currency}, but the ERP's {expected.source} for"
            f" article {expected.article_code!r} is in {expected.currency}"
        ),
        severity=ERROR,
        field=at.field("unit_price"),
    )


def _price_mismatch(at: _At, stated: Decimal, expected: PriceAgreement, currency: str) -> Problem:
    return Problem(
        code="scsn.price.mismatch",
        message=(
            f"{at.label}: message price {stated} {currency} differs from the ERP price"
            f" {expected.unit_price} {expected.currency} ({expected.source})"
        ),
        severity=ERROR,
        field=at.field("unit_price"),
    )


def _discount_mismatch(at: _At, stated: Decimal, path: _PathPrice) -> Problem:
    return Problem(
        code="scsn.price.discount_mismatch",
        message=(
            f"{at.label}: message discount {_percent(stated)} % differs from the ERP discount"
            f" {_percent(path.discount)} % ({path.agreement.source})"
        ),
        severity=ERROR,
        field=at.field("discounts"),
    )


def _deviating_accepted(at: _At, terms: _Terms, path: _PathPrice | None, currency: str) -> Problem:
    """The deviation shown on the message: the terms taken over next to the ERP's."""
    erp = (
        "no ERP price was found"
        if path is None
        else (
            f"the ERP price is {path.agreement.unit_price} {path.agreement.currency} less"
            f" {_percent(path.discount)} % ({path.agreement.source})"
        )
    )
    status = f"line status {terms.status!r}" if terms.status else "no status configured for it"
    return Problem(
        code="scsn.price.deviating_accepted",
        message=(
            f"{at.label}: the message's terms {terms.unit_price} {currency} less"
            f" {_percent(terms.discount)} % taken over as a manual price, {erp}; {status}"
        ),
        severity=WARNING,
        field=at.field("unit_price"),
    )


# --- Check 7: credit limit -------------------------------------------------------------------


def _check_credit(customer: Customer, data: OrderMasterData, amount: Decimal) -> list[Problem]:
    """Check 7: open invoices, quotes and/or orders (per flags) plus this order within the limit.

    Seed: "Diese Kontrolle erfolgt, wenn beim Kunden [...] die
    Kreditlimitkontrolle aktiviert ist. [...] Mit den Feldern Beträge
    Statustyp „Angebot“ und Beträge Statustyp „Auftrag“ legen Sie fest, welche
    Beträge für das Limit berücksichtigt werden. Sind diese Felder nicht
    aktiviert, dann werden nur die Beträge für die offenen Posten (Rechnungen)
    verwendet". A customer without a limit has no limit to exceed.
    """
    if not customer.credit_check or customer.credit_limit is None:
        return []
    exposure = data.exposure
    parts = [("open invoices", exposure.open_invoices)]
    if customer.credit_includes_quotes:
        parts.append(("open quotes", exposure.open_quotes))
    if customer.credit_includes_orders:
        parts.append(("open orders", exposure.open_orders))
    parts.append(("this order", amount))
    total = sum((value for _, value in parts), _ZERO)
    sums = " + ".join(f"{name} {value}" for name, value in parts)
    if total > customer.credit_limit:
        return [
            Problem(
                code="scsn.credit.limit_exceeded",
                message=(
                    f"credit limit of customer {customer.customer_id} exceeded: {sums} ="
                    f" {total} > limit {customer.credit_limit}"
                ),
                severity=ERROR,
                field="lines",
            )
        ]
    return [
        Problem(
            code="scsn.credit.within_limit",
            message=f"{sums} = {total} is within the credit limit {customer.credit_limit}",
            severity=INFO,
            field="lines",
        )
    ]


# --- What is created and answered ------------------------------------------------------------


def _sales_order(
    order: Order,
    *,
    buyer_id: str,
    customer: Customer,
    sales_type: str,
    replaces: str | None,
    lines: list[_CheckedLine],
    amount: Decimal,
) -> SalesOrder:
    """The customer order to create: only called when no check found an error."""
    return SalesOrder(
        order_reference=order.order_id,
        buyer_scsn_id=buyer_id,
        customer_id=customer.customer_id,
        sales_type=sales_type,
        currency=order.currency,
        order_type_code=order.order_type_code,
        replaces_unconfirmed=replaces,
        requested_delivery_date=order.requested_delivery_date,
        note=order.note,
        amount=amount,
        lines=[_sales_line(checked) for checked in lines],
    )


def _sales_line(checked: _CheckedLine) -> SalesOrderLine:
    """One sales order line; without errors, every line has an article, terms and an amount."""
    line = checked.at.line
    assert checked.article is not None
    assert checked.terms is not None
    assert checked.amount is not None
    return SalesOrderLine(
        line_id=line.line_id,
        article_code=checked.article.article_code,
        revision=checked.revision,
        customer_article_code=line.customer_article_code,
        description=line.description or checked.article.description,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=checked.terms.unit_price,
        discount_percentage=checked.terms.discount,
        manually_priced=checked.terms.manually_priced,
        status=checked.terms.status,
        amount=checked.amount,
    )


def _response(
    order: Order,
    options: ImportOptions,
    problems: list[Problem],
    lines: list[_CheckedLine],
    replaces: str | None,
) -> OrderResponse:
    """The order response: its code and notes from the problems, a line's on that line.

    INFO problems are decisions for the user, not reasons for the buyer, so
    only errors and warnings become notes.
    """
    by_line: dict[int, list[Problem]] = {}
    document: list[Problem] = []
    for problem in problems:
        if problem.severity is INFO:
            continue
        index = _line_index(problem)
        if index is None or index >= len(lines):
            document.append(problem)
        else:
            by_line.setdefault(index, []).append(problem)
    return OrderResponse(
        response_id=options.response_id,
        order_id=order.order_id,
        issue_date=options.today,
        response=response_code(problems),
        currency=order.currency,
        buyer=order.buyer,
        seller=order.seller,
        sales_order_number=replaces,
        notes=[_note(p) for p in document],
        lines=[
            _response_line(
                checked, by_line.get(checked.at.index, []), order.requested_delivery_date
            )
            for checked in lines
        ],
    )


def response_code(problems: Sequence[Problem]) -> ResponseCode:
    """Rejected with any error, accepted with changes with any warning, else accepted."""
    severities = {p.severity for p in problems}
    if ERROR in severities:
        return ResponseCode.REJECTED
    if WARNING in severities:
        return ResponseCode.ACCEPTED_WITH_CHANGES
    return ResponseCode.ACCEPTED


def _line_index(problem: Problem) -> int | None:
    """The position of the line a problem's field points at, if it points at a line."""
    match = _LINE_FIELD.match(problem.field or "")
    return int(match.group(1)) if match else None


def _note(problem: Problem) -> ResponseNote:
    return ResponseNote(code=problem.code, severity=problem.severity.value, message=problem.message)


def _response_line(
    checked: _CheckedLine, problems: list[Problem], requested: date | None
) -> OrderResponseLine:
    """A line's answer: its codes and quantity, the price taken and the revision chosen.

    The promised date (SCSN BR-10) is the date the buyer asked for, the line's
    or else the order's: Koppel confirms what the ERP will plan, it plans nothing.
    """
    line = checked.at.line
    article_code = checked.article.article_code if checked.article else line.supplier_article_code
    return OrderResponseLine(
        line_id=line.line_id,
        response=response_code(problems),
        supplier_article_code=article_code,
        supplier_article_revision=checked.revision,
        customer_article_code=line.customer_article_code,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=checked.terms.unit_price if checked.terms else line.unit_price,
        promised_delivery_date=line.requested_delivery_date or requested,
        notes=[_note(p) for p in problems],
    )


def _percent(value: Decimal) -> Decimal:
    return value.quantize(_PERCENT, rounding=ROUND_HALF_UP)


def _round(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
