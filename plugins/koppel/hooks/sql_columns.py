"""Column types and defaults the partner ERPs' table contracts share.

The Isah ERP (:mod:`koppel.hooks.isah_schema`) and the store ERP
(:mod:`koppel.hooks.store_erp_schema`) are different systems with different
tables, but both keep money and quantities exact and both stamp rows with the
time a watermark source pages by. Those rules live here once, so the two
contracts cannot drift apart in precision or in how a timestamp sorts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Numeric
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["Money", "Quantity", "utc_now"]

#: Prices, limits and amounts, exact: no amount passes through a binary float.
Money = Numeric(18, 4, asdecimal=True)
#: Quantities and percentages, exact.
Quantity = Numeric(18, 4, asdecimal=True)


class utc_now(FunctionElement[datetime]):  # noqa: N801 (an SQL function, named as one)
    """The current time as a column default, in the form SQLAlchemy itself writes it.

    On SQLite a timestamp is text compared as text: ``CURRENT_TIMESTAMP``
    (``2026-11-29 13:33:19``) would sort before the same moment as
    SQLAlchemy binds it (``2026-11-29 13:33:19.000000``), and a source reading
    changed rows by their watermark would page wrongly.
    """

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(utc_now)
def _utc_now(element: utc_now, compiler: SQLCompiler, **kw: object) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(utc_now, "sqlite")
def _utc_now_sqlite(element: utc_now, compiler: SQLCompiler, **kw: object) -> str:
    return "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))"
