"""The document-type half of the demo (seed 001): a webshop and a CRM hand their orders to IPSoft.

Imported only after the demo has set Airflow's environment. Koffiebar Noord's
webshop (``webshop_koffiebar``) and Adviesgroep Delta's CRM
(``crm_adviesgroep``) both deliver to an emulated IPSoft, each flow creating
one document type there:

* ``orders``: the paid orders become sales orders; W-1002 names a product IPSoft
  does not know, so it waits with an error on its line, and goes out on the
  first run after the product is created in IPSoft;
* ``invoices``: a shipped order is invoiced against the order IPSoft has;
* ``direct_invoices``: the till's cash sale is ordered, picked and invoiced at
  once, lowering stock and booking the sale;
* ``postings``: a shipped order is posted to the ledger at the connection's
  level (advanced), and a refund (R-1001) with reversed signs. W-1005 and the
  awkward W-1006 go through all three phases:
  order, invoice, posting. The demo prints seed 001's awkward order (3 x 0.333 at
  21 % and at 9 %, a discount and shipping, prices including tax) posted at all
  four levels side by side, with the rounding line where one is needed, and
  checks that IPSoft booked exactly the advanced column;
* ``quotes`` and ``sales_invoices``: the CRM's sent quotes (one waits for an
  unknown product) and its won deal, whose service lines carry no article.

A second run of every flow creates nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from airflow.dag_processing.dagbag import DagBag

from koppel.documents import FinancialMutation, MutationLevel, Order, Severity
from koppel.formats import default_registry
from koppel.rules.financial_mutation import LedgerAccounts, post_order
from koppel.rules.money import quantize
from koppel.sandbox.crm import CrmServer
from koppel.sandbox.ipsoft import IPSoftServer, Product
from koppel.sandbox.webshop import ShopCharge, ShopLine, WebshopServer, webshop_order
from koppel.store import Direction, MessageStatus, MessageStore

SHOP = "webshop_koffiebar"
CRM = "crm_adviesgroep"
#: Seed 001's awkward order as a B2C shop sells it: prices including tax.
AWKWARD = "W-1006"
#: The product W-1002 waits for; the demo creates it in IPSoft after the first run.
UNKNOWN_SKU = "KOP-UNKNOWN-1"
DAG_IDS = (
    *(f"{SHOP}__{flow}" for flow in ("orders", "invoices", "direct_invoices", "postings")),
    *(f"{CRM}__{flow}" for flow in ("quotes", "sales_invoices")),
)


def awkward_order() -> Any:
    """3 x 0.333 at 21 % and at 9 %, a sample chino, a 1.00 discount and 4.95 shipping, paid."""
    return webshop_order(
        AWKWARD,
        lines=[
            ShopLine("NZ2401-NAVY-L", "Linnen T-shirt navy L (staal)", "3", "0.333", "21"),
            ShopLine("NZ2403-OKER-OS", "Sjaal oker (staal)", "3", "0.333", "9"),
            ShopLine("NZ2402-SAND-34", "Chino zand 34 (staal)", "1", "2.49", "21"),
        ],
        charges=[
            ShopCharge("discount", "1.00", "21", "Kortingscode STAAL"),
            ShopCharge("shipping", "4.95", "21", "Verzending PostNL"),
        ],
        prices_include_tax=True,
        status="paid",
    )


@dataclass(frozen=True)
class _Run:
    """One flow run of the demo and what it must leave behind."""

    connection: str
    flow: str
    state: str
    delivered: int
    held: int = 0


def run_documents_demo(
    bag: DagBag,
    store: MessageStore,
    ipsoft: IPSoftServer,
    webshop: WebshopServer,
    crm: CrmServer,
    *,
    accounts: LedgerAccounts,
    run: Callable[[Any], str],
) -> bool:
    """Run each document-type flow, print what IPSoft made of it, and check it."""
    webshop.seed_demo()
    crm.seed_demo()
    webshop.add_order(awkward_order())
    webshop.set_status("W-1005", "paid")  # ordered first, so it can be invoiced below
    ok = _runs(
        bag,
        store,
        run,
        [
            _Run(SHOP, "orders", "success", delivered=4, held=1),
            _Run(CRM, "quotes", "success", delivered=1, held=1),
            _Run(CRM, "sales_invoices", "success", delivered=1),
        ],
    )
    for reference in ("W-1005", AWKWARD):
        webshop.set_status(reference, "shipped")
    ok &= _runs(
        bag,
        store,
        run,
        [
            _Run(SHOP, "invoices", "success", delivered=2),
            _Run(SHOP, "direct_invoices", "success", delivered=1),
            _Run(SHOP, "postings", "success", delivered=3),  # W-1005, W-1006 and refund R-1001
        ],
    )
    ok &= _print_documents(ipsoft, webshop)
    ok &= _print_postings(ipsoft, webshop, accounts)
    ipsoft.state.put(Product(article_id="A-GIFT", name="Cadeaubon-verpakking", sku=UNKNOWN_SKU))
    print(f"  {UNKNOWN_SKU} created in IPSoft (as the products flow would); the next run:")
    ok &= _runs(bag, store, run, [_Run(SHOP, "orders", "success", delivered=5)])
    created = sorted(ipsoft.state.orders)
    print(f"  IPSoft orders now: {', '.join(created)}")
    ok &= "W-1002" in created
    before = _counts(ipsoft)
    for dag_id in DAG_IDS:
        run(bag.dags[dag_id])
    twice = _counts(ipsoft) != before
    print(
        "  every flow run again: "
        + ("UNEXPECTED: created again" if twice else "nothing created twice")
    )
    return ok and not twice


def _runs(
    bag: DagBag, store: MessageStore, run: Callable[[Any], str], runs: Sequence[_Run]
) -> bool:
    ok = True
    for expected in runs:
        dag_id = f"{expected.connection}__{expected.flow}"
        state = run(bag.dags[dag_id])
        inbound = store.find(
            connection_id=expected.connection, flow=expected.flow, direction=Direction.IN
        )
        delivered = sum(m.status is MessageStatus.DELIVERED for m in inbound)
        held = [m for m in inbound if m.status is MessageStatus.HELD]
        print(f"{dag_id} {state} received={len(inbound)} delivered={delivered} held={len(held)}")
        for message in held:
            for problem in message.problems:
                if problem.severity is Severity.ERROR:
                    print(
                        f"  {message.document_key} waits: {problem.code} [{problem.field}]: "
                        f"{problem.message}"
                    )
        if (state, delivered, len(held)) != (expected.state, expected.delivered, expected.held):
            print(f"  UNEXPECTED: {state}, {delivered} delivered, {len(held)} held; {expected}")
            ok = False
    return ok


def _print_documents(ipsoft: IPSoftServer, webshop: WebshopServer) -> bool:
    """One line per document IPSoft made, and the export marks the sources got back."""
    state = ipsoft.state
    with state.lock:
        made = {
            "quote": [f"{q.quote_number} ({ref})" for ref, q in state.quotes.items()],
            "order": [f"{o.order_number} ({ref})" for ref, o in state.orders.items()],
            "invoice": [
                f"{i.invoice_number} ({ref}, order {i.order_number})"
                for ref, i in state.invoices.items()
            ],
            "direct invoice": [
                f"{d.invoice_number} ({ref}, stock "
                + ", ".join(f"{c.sku} {c.change:+}" for c in d.stock_changes)
                + f", entry {d.journal_entry_number})"
                for ref, d in state.direct_invoices.items()
            ],
            "sales invoice": [
                f"{s.invoice_number} ({ref}, {len(s.amounts.lines)} lines without article,"
                f" revenue account {s.revenue_account})"
                for ref, s in state.sales_invoices.items()
            ],
            "financial mutation": [
                f"{e.entry_number} ({ref})"
                for ref, e in state.journal_entries.items()
                if e.reference == ref and ref.startswith(("W-", "R-"))
            ],
        }
    print("  IPSoft holds, one of each document type:")
    for kind, documents in made.items():
        print(f"    {kind}: {'; '.join(documents) or 'none'}")
    marks = webshop.record_json("orders", "W-1005")["exports"]
    print(f"  W-1005 in the webshop, marked exported: {json.dumps(marks, sort_keys=True)}")
    return all(made.values()) and set(marks) == {"order", "invoice", "financial_mutation"}


def _print_postings(ipsoft: IPSoftServer, webshop: WebshopServer, accounts: LedgerAccounts) -> bool:
    """The awkward order at the four levels side by side; IPSoft booked the connection's one."""
    body = json.dumps(webshop.record_json("orders", AWKWARD)).encode()
    (order,) = default_registry().get("webshop.order").read(body, source=AWKWARD).documents
    assert isinstance(order, Order)
    postings = {}
    for level in MutationLevel:
        mutation = post_order(order, level, accounts).mutation
        assert mutation is not None  # the demo's chart maps every rate and kind
        postings[level] = mutation
    print(
        f"  {AWKWARD}: 3 x 0.333 at 21 % and 9 %, 1 x 2.49, discount 1.00, shipping 4.95,"
        f" prices incl. tax; the shop's total {order.total_amount}, tax "
        + ", ".join(f"{t.rate}%: {t.tax_amount}" for t in order.tax_totals)
    )
    for row in _side_by_side(list(postings.values())):
        print(f"    {row}")
    entry = ipsoft.state.journal_entries[AWKWARD]
    booked = [(ln.account, ln.debit, ln.credit) for ln in entry.lines]
    advanced = postings[MutationLevel.ADVANCED]
    same = booked == [(ln.account, ln.debit, ln.credit) for ln in advanced.lines]
    print(
        f"  IPSoft entry {entry.entry_number} for {AWKWARD} (the connection posts advanced):"
        f" {'the advanced column, line for line' if same else 'UNEXPECTED: differs'}"
    )
    return same and all(m.imbalance() == 0 for m in postings.values())


_WIDTH = 27


def _side_by_side(postings: list[FinancialMutation]) -> list[str]:
    """Each posting a column of ``account D/C amount`` lines, then its balance and rounding."""
    columns = [[_cell(p, line) for line in p.lines] for p in postings]
    height = max(len(column) for column in columns)
    rows = [" | ".join(p.level.value.ljust(_WIDTH) for p in postings)]
    rows.append("-+-".join("-" * _WIDTH for _ in postings))
    for index in range(height):
        cells = [column[index] if index < len(column) else "" for column in columns]
        rows.append(" | ".join(cell.ljust(_WIDTH) for cell in cells))
    rows.append(" | ".join(_balance(p).ljust(_WIDTH) for p in postings))
    return rows


def _cell(posting: FinancialMutation, line: Any) -> str:
    side, amount = ("D", line.debit) if line.debit else ("C", line.credit)
    label = "rounding" if line.is_rounding else (line.description or "")[:11]
    money = quantize(amount, posting.currency)
    return f"{line.account} {label[:11]:<11} {side} {money:>7}"


def _balance(posting: FinancialMutation) -> str:
    debit = sum((line.debit for line in posting.lines), Decimal(0))
    rounding = [line for line in posting.lines if line.is_rounding]
    note = f", rounding {rounding[0].debit or rounding[0].credit}" if rounding else ""
    return f"D = C = {quantize(debit, posting.currency)}{note}"


def _counts(ipsoft: IPSoftServer) -> tuple[int, ...]:
    state = ipsoft.state
    with state.lock:
        return (
            len(state.orders),
            len(state.quotes),
            len(state.invoices),
            len(state.direct_invoices),
            len(state.sales_invoices),
            len(state.journal_entries),
        )
