"""What a case's partner systems answer: the lookups ``process_pending`` hands the rules.

A DAG run binds them to live systems (``koppel.hooks.destinations.flow_lookups``);
a case binds the same names to data in ``case.yaml``:

- ``customer_reference``: the portal's ERP reference per customer id;
- ``known_skus``: the products the target ERP knows;
- the SQL lookups (``erp_order_master_data``, ``store_sales_master_data``,
  ``store_purchase_order``, ``store_delivered_sales_order``): read through the
  same readers the hooks use (:class:`~koppel.hooks.isah.IsahReader`,
  :class:`~koppel.hooks.store_erp.StoreErpReader`), on a SQLite database the
  case builds from one of ``koppel.sandbox``'s seeds (``lookups.database``).
  The readers are plain SQLAlchemy: no Airflow hook and no server is involved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from koppel.contract.spec import CaseFileError, Lookups
from koppel.documents import Order

#: The stand-in databases a case may name, and what each is seeded with.
DATABASES = ("isah", "store_a", "store_b", "peppol_supplier")


def case_lookups(
    lookups: Lookups, workdir: Path, engines: list[Engine]
) -> dict[str, Callable[..., Any]]:
    """The lookups ``lookups`` describes; a database is created under ``workdir``.

    Engines opened are appended to ``engines``, for the caller to dispose of.

    Raises:
        CaseFileError: ``lookups.database`` names no known database.
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
    if lookups.database is not None:
        bound |= _database_lookups(lookups.database, workdir, engines)
    return bound


def _database_lookups(
    name: str, workdir: Path, engines: list[Engine]
) -> dict[str, Callable[..., Any]]:
    """The SQL lookups of one seeded stand-in database."""
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
    return _store_lookups(engines[-1])


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
