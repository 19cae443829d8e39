"""What a case's partner systems answer: the lookups ``process_pending`` hands the rules.

A DAG run binds them to live systems (``koppel.hooks.destinations.flow_lookups``);
a case binds the same names to data in ``case.yaml``:

- ``customer_reference``: the portal's ERP reference per customer id;
- ``known_skus``: the products the target ERP knows;
- the SQL lookups (``erp_order_master_data``, ``store_sales_master_data``,
  ``store_purchase_order``, ``store_delivered_sales_order``): read through the
  same readers the hooks use (:class:`~koppel.hooks.isah.IsahReader`,
  :class:`~koppel.hooks.store_erp.StoreErpReader`), on a SQLite database the
  case builds from one of ``koppel.sandbox``'s seeds (``lookups.database``),
  plus the rows a case adds to a store database (``lookups.database_rows``:
  the purchase order a waybill answers, the sales order and delivery a
  despatch is made of). The readers are plain SQLAlchemy: no Airflow hook and
  no server is involved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from koppel.contract.spec import CaseFileError, Lookups
from koppel.documents import Order

#: The stand-in databases a case may name, and what each is seeded with.
DATABASES = ("isah", "store_a", "store_b", "peppol_supplier")
#: The store databases, the ones ``lookups.database_rows`` can add rows to.
STORE_DATABASES = ("store_a", "store_b", "peppol_supplier")


def case_lookups(
    lookups: Lookups, workdir: Path, engines: list[Engine]
) -> dict[str, Callable[..., Any]]:
    """The lookups ``lookups`` describes; a database is created under ``workdir``.

    Engines opened are appended to ``engines``, for the caller to dispose of.

    Raises:
        CaseFileError: ``lookups.database`` names no known database, or
            ``lookups.database_rows`` cannot be put into it (no store database,
            an unknown table or column, a row the database refuses).
    """
    bound: dict[str, Callable[..., Any]] = {}
    if lookups.customer_reference is not None:
        references = dict(lookups.customer_reference)

        def customer_reference(customer_id: str) -> str | None:
            return references.get(customer_id)

        bound["customer_reference"] = customer_reference
    if lookups.known_skus is not None:
        known = frozenset(lookups.known_skus)

        def known_skus(skus: Collection[str]) -> set[str]:
            return {sku for sku in skus if sku in known}

        bound["known_skus"] = known_skus
    if lookups.database_rows is not None and lookups.database not in STORE_DATABASES:
        raise CaseFileError(
            "lookups.database_rows: rows go into a store database; set lookups.database "
            f"to one of {', '.join(STORE_DATABASES)}"
        )
    if lookups.database is not None:
        bound |= _database_lookups(lookups.database, workdir, engines, lookups.database_rows)
    return bound


def _database_lookups(
    name: str,
    workdir: Path,
    engines: list[Engine],
    rows: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Callable[..., Any]]:
    """The SQL lookups of one seeded stand-in database, with the case's ``rows`` added."""
    if name not in DATABASES:
        raise CaseFileError(
            f"lookups.database: unknown database {name!r}; known: {', '.join(DATABASES)}"
        )
    url = f"sqlite:///{workdir / f'{name}.sqlite'}"
    if name == "isah":
        from koppel.hooks.isah import IsahReader
        from koppel.sandbox.isah.database import create_erp_database
        from koppel.sandbox.isah.seed import DEMO_SEED

        engines.append(create_erp_database(url, DEMO_SEED))
        reader = IsahReader(engines[-1])

        def order_master_data(order: Order) -> Any:
            return reader.order_master_data(order)

        return {"erp_order_master_data": order_master_data}
    engines.append(_store_database(name, url))
    if rows:
        add_store_rows(engines[-1], rows)
    return _store_lookups(engines[-1])


def add_store_rows(engine: Engine, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """Insert a case's ``lookups.database_rows`` into a seeded store database.

    The rows go in as the seed's do (:func:`koppel.sandbox.store_erp.database.load_seed`):
    tables in dependency order, an order's or delivery's rows under ``lines``
    and its number given by the database (1, 2, ... after the seed's), so a
    case names them as the store would. YAML reads ``4.10`` as a float; every
    float becomes the decimal it was written as, so a price is exact.

    Raises:
        CaseFileError: a table the store does not have, a line table given
            on its own, or a row the database refuses (an unknown column, a
            missing required value, a customer or product it does not know).
    """
    from koppel.hooks import store_erp_schema as erp
    from koppel.sandbox.store_erp.database import load_seed

    metadata = erp.metadata
    # the tables whose rows come under `lines` of a header row, as load_seed takes them
    line_tables = {
        erp.purchase_order_lines.name: erp.purchase_orders.name,
        erp.sales_order_lines.name: erp.sales_orders.name,
        erp.delivery_lines.name: erp.deliveries.name,
    }
    for table in rows:
        if table in line_tables:
            raise CaseFileError(
                f"lookups.database_rows.{table}: give these rows under `lines` of "
                f"their {line_tables[table]} row"
            )
        if table not in metadata.tables:
            known = ", ".join(sorted(t for t in metadata.tables if t not in line_tables))
            raise CaseFileError(
                f"lookups.database_rows.{table}: the store database has no such table "
                f"(tables: {known})"
            )
    try:
        load_seed(engine, {table: [_exact(row) for row in rows[table]] for table in rows})
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise CaseFileError(f"lookups.database_rows: the database refuses them: {detail}") from exc


def _exact(value: Any) -> Any:
    """``value`` with every float (YAML's reading of ``4.10``) as the decimal written."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_exact(item) for item in value]
    return value


def _store_database(name: str, url: str) -> Engine:
    from koppel.sandbox.store_erp import seed
    from koppel.sandbox.store_erp.database import create_store_database

    seeds = {
        "store_a": seed.STORE_A_SEED,
        "store_b": seed.STORE_B_SEED,
        "peppol_supplier": seed.PEPPOL_SUPPLIER_SEED,
    }
    return create_store_database(url, seeds[name])


def _store_lookups(engine: Engine) -> dict[str, Callable[..., Any]]:
    from koppel.hooks.store_erp import StoreErpReader
    from koppel.pipeline.store_rules import (
        DELIVERED_SALES_ORDER,
        PURCHASE_ORDER,
        SALES_MASTER_DATA,
    )

    reader = StoreErpReader(engine)
    return {
        SALES_MASTER_DATA: reader.sales_master_data,
        PURCHASE_ORDER: reader.purchase_order,
        DELIVERED_SALES_ORDER: reader.delivered_sales_order,
    }
