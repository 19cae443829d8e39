"""Marking delivered portal orders exported never locks up (issue 7, part 2).

Against the real IPSoft and Le New Black emulators and PostgreSQL. The broken
state a crash leaves (an order delivered to IPSoft whose order number was
never recorded) is made by hand in the store; the finish step must fetch the
number back from IPSoft, and an order it cannot mark must not stop the others.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from dataclasses import dataclass

import pytest

from koppel.faults import ENV_VAR
from koppel.hooks.ipsoft import IPSoftHook
from koppel.hooks.lenewblack import LeNewBlackHook, api_path
from koppel.pipeline.export_confirmation import (
    UNCONFIRMED,
    Confirmation,
    ExportSystems,
    confirm_exports,
)
from koppel.pipeline.portal_changes import order_source_name
from koppel.sandbox.ipsoft import IPSoftServer
from koppel.sandbox.lenewblack import LeNewBlackServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.fixtures.ipsoft import IPSOFT_CONN_ID
from tests.fixtures.lenewblack import LENEWBLACK_CONN_ID

pytestmark = pytest.mark.integration

CONNECTION, FLOW, OPERATION = "ipsoft_noordzee", "orders", "/api/v1/orders"


def systems() -> ExportSystems:
    return ExportSystems(
        portal=LeNewBlackHook(LENEWBLACK_CONN_ID, retry_wait_seconds=0),
        erp=IPSoftHook(IPSOFT_CONN_ID),
        portal_name="Le New Black",
        erp_name="IPSoft",
        erp_transport="soap",
    )


def confirm(store: MessageStore) -> Confirmation:
    return confirm_exports(store, CONNECTION, FLOW, systems())


def create_order_request(reference: str) -> bytes:
    """A CreateOrder request IPSoft accepts (a demo customer and article)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ips:CreateOrderRequest xmlns:ips="urn:koppel:ipsoft:erp:1">
  <ips:Order>
    <ips:PortalOrderReference>{reference}</ips:PortalOrderReference>
    <ips:CustomerNumber>C10023</ips:CustomerNumber>
    <ips:OrderDate>2025-03-04</ips:OrderDate>
    <ips:Currency>EUR</ips:Currency>
    <ips:DeliveryAddress>
      <ips:Name>Boutique Lotte</ips:Name>
      <ips:Street>Haarlemmerstraat</ips:Street>
      <ips:HouseNumber>112</ips:HouseNumber>
      <ips:PostalCode>1013 EX</ips:PostalCode>
      <ips:City>Amsterdam</ips:City>
      <ips:CountryCode>NL</ips:CountryCode>
    </ips:DeliveryAddress>
    <ips:Lines>
      <ips:Line>
        <ips:LineNumber>1</ips:LineNumber>
        <ips:Sku>NZ2401-NAVY-M</ips:Sku>
        <ips:Quantity>2</ips:Quantity>
        <ips:UnitPrice>34.50</ips:UnitPrice>
      </ips:Line>
    </ips:Lines>
  </ips:Order>
</ips:CreateOrderRequest>""".encode()


@dataclass(frozen=True)
class Delivered:
    """An order as the store holds it after delivery: the portal's message and the ERP's."""

    message_id: int
    out_id: int
    number: str | None
    """IPSoft's order number, None when IPSoft does not know the order."""


def delivered(store: MessageStore, reference: str, *, recorded: bool, in_ipsoft: bool) -> Delivered:
    """Store an order as received and delivered, with or without the ERP number recorded.

    ``recorded=False`` is the state a crash between recording ``delivered`` and
    recording the order number leaves; ``in_ipsoft=False`` an order IPSoft lost.
    """
    payload = LeNewBlackHook(LENEWBLACK_CONN_ID).get_bytes(api_path("orders", reference))
    message_id = store.receive(
        connection_id=CONNECTION,
        flow=FLOW,
        source_name=order_source_name(OPERATION, reference),
        payload=payload,
    ).message_id
    request = create_order_request(reference)
    number = IPSoftHook(IPSOFT_CONN_ID).create_order(request).order_number if in_ipsoft else None
    out_id = store.create_outbound(
        parent_id=message_id,
        connection_id=CONNECTION,
        flow=FLOW,
        delivery_key=f"target:CreateOrder/{reference}",
        target_name=f"CreateOrder/{reference}",
        payload=request,
        document=None,
        document_key=reference,
    ).message_id
    store.update(out_id, status=MessageStatus.DELIVERED)
    if recorded:
        assert number is not None
        store.set_disposition(out_id, f"soap:{number}")
    store.update(message_id, status=MessageStatus.DELIVERED, document_key=reference)
    return Delivered(message_id, out_id, number)


@pytest.fixture
def portal(lenewblack_server: LeNewBlackServer, ipsoft_server: IPSoftServer) -> LeNewBlackServer:
    lenewblack_server.seed_demo()
    return lenewblack_server


def test_a_lost_order_number_is_fetched_back_from_ipsoft_and_the_order_marked(
    store: MessageStore, portal: LeNewBlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    lost = delivered(store, "LNB-100045", recorded=False, in_ipsoft=True)

    with caplog.at_level(logging.WARNING, logger="koppel.pipeline.export_confirmation"):
        outcome = confirm(store)

    assert (outcome.confirmed, outcome.recovered, outcome.failed) == (1, 1, [])
    assert store.get(lost.out_id).disposition == f"soap:{lost.number}"
    assert store.get(lost.message_id).disposition == f"exported:{lost.number}"
    order = portal.state.orders["LNB-100045"]
    assert (order.status, order.erp_order_number) == ("exported", lost.number)
    assert any("fetched back from IPSoft" in r.getMessage() for r in caplog.records)
    assert confirm(store) == Confirmation()  # done: nothing left to mark


def test_an_order_ipsoft_does_not_know_blocks_no_other_order(
    store: MessageStore, portal: LeNewBlackServer, ipsoft_server: IPSoftServer
) -> None:
    fine = delivered(store, "LNB-100045", recorded=True, in_ipsoft=True)
    recoverable = delivered(store, "LNB-100046", recorded=False, in_ipsoft=True)
    unknown = delivered(store, "LNB-100047", recorded=False, in_ipsoft=False)

    outcome = confirm(store)

    assert (outcome.confirmed, outcome.recovered) == (2, 1)
    (reason,) = outcome.failed
    assert f"message {unknown.message_id} (LNB-100047)" in reason
    assert "IPSoft has no order LNB-100047" in reason
    exported = {ref: o.erp_order_number for ref, o in portal.state.orders.items()}
    assert exported["LNB-100045"] == fine.number
    assert exported["LNB-100046"] == recoverable.number
    assert portal.state.orders["LNB-100047"].status == "confirmed"
    message = store.get(unknown.message_id)
    assert message.disposition is None  # tried again on every run
    (problem,) = [p for p in message.problems if p.code == UNCONFIRMED]
    assert problem.severity.value == "error"
    assert "not marked exported in Le New Black" in problem.message

    assert len(confirm(store).failed) == 1  # the next run meets it again ...
    problems = store.get(unknown.message_id).problems
    assert [p.code for p in problems].count(UNCONFIRMED) == 1  # ... and says so once

    number = IPSoftHook(IPSOFT_CONN_ID).create_order(create_order_request("LNB-100047"))
    outcome = confirm(store)  # IPSoft knows it now: recovered without anyone's help

    assert (outcome.confirmed, outcome.failed) == (1, [])
    assert portal.state.orders["LNB-100047"].erp_order_number == number.order_number
    assert store.get(unknown.message_id).disposition == f"exported:{number.order_number}"


def test_a_portal_refusal_is_an_error_on_that_order_only(
    store: MessageStore, portal: LeNewBlackServer
) -> None:
    refused = delivered(store, "LNB-100045", recorded=True, in_ipsoft=True)
    fine = delivered(store, "LNB-100047", recorded=True, in_ipsoft=True)
    LeNewBlackHook(LENEWBLACK_CONN_ID).mark_exported("LNB-100045", "SO-BY-SOMEONE-ELSE")

    outcome = confirm(store)

    assert outcome.confirmed == 1
    assert "ALREADY_EXPORTED" in outcome.failed[0]
    assert store.get(refused.message_id).disposition is None
    assert store.get(fine.message_id).disposition == f"exported:{fine.number}"


def _confirm_and_die_after_the_mark(store: MessageStore) -> None:
    """The finish step in a child process armed to SIGKILL itself right after the portal's mark."""
    store.engine.dispose(close=False)  # the parent's pooled connections are not this process's
    os.environ[ENV_VAR] = "finish.marked_exported"
    confirm(store)


def test_a_crash_after_the_mark_is_repaired_by_marking_again(
    store: MessageStore, portal: LeNewBlackServer
) -> None:
    order = delivered(store, "LNB-100045", recorded=True, in_ipsoft=True)
    child = multiprocessing.get_context("fork").Process(
        target=_confirm_and_die_after_the_mark, args=(store,)
    )
    child.start()
    child.join(timeout=60)

    assert child.exitcode == -signal.SIGKILL
    marked = portal.state.orders["LNB-100045"]
    assert (marked.status, marked.erp_order_number) == ("exported", order.number)
    assert store.get(order.message_id).disposition is None  # the record never happened
    marked_at = marked.updated_at

    outcome = confirm(store)  # the rerun marks it again: the portal takes the same number

    assert (outcome.confirmed, outcome.failed) == (1, [])
    assert store.get(order.message_id).disposition == f"exported:{order.number}"
    assert portal.state.orders["LNB-100045"].updated_at == marked_at  # the repeat changed nothing
    inbound = store.find(connection_id=CONNECTION, flow=FLOW, direction=Direction.IN)
    assert [m.disposition for m in inbound] == [f"exported:{order.number}"]
