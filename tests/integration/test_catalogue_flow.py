"""Streamed catalogues end to end: IT's Perfect's article export over SFTP → PostgreSQL → Monta.

Each run is the products flow's real operators in a process of their own
(``koppel.sandbox.flow_runner``), against a real SFTP server and PostgreSQL,
as in the crash tests; a partner collects what Monta receives after each run
and counts every product in it, so a product sent twice is seen.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import text

from koppel.sandbox import samples_catalogue
from koppel.sandbox.samples_catalogue import catalogue_sku, write_catalogue
from koppel.sandbox.sftp_server import SFTPServer
from koppel.store import Direction, MessageStatus, MessageStore
from tests.integration.flow_processes import run_flow, states

pytestmark = pytest.mark.integration

MERCHANT = """\
extends: _itsperfect_monta
name: Acme Fashion
prefix: acme
vars:
  sftp_conn_id: {conn_id}
flows:
  products:
    catalogue:
      records_per_file: {per_file}
      chunk_records: {chunk}
    source:
      stable_seconds: 0
"""
MONTA = "{urn:koppel:monta:product:1}"


class Monta:
    """The warehouse collecting product files: how often it got each SKU, and under which name."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "acme" / "monta" / "products"
        self.skus: Counter[str] = Counter()
        self.names: dict[str, str] = {}
        self.files = 0

    def collect(self) -> int:
        """Take every delivered file; return how many products they held."""
        if not self.folder.exists():
            return 0
        taken = 0
        for path in sorted(self.folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            for product in etree.parse(str(path)).getroot().iterchildren(f"{MONTA}MontaProduct"):
                sku = product.findtext(f"{MONTA}Sku") or ""
                self.skus[sku] += 1
                self.names[sku] = product.findtext(f"{MONTA}Description") or ""
                taken += 1
            self.files += 1
            path.unlink()
        return taken


@pytest.fixture
def acme(connections_dir: Path, sftp_server: SFTPServer, store_conn_id: str) -> Path:
    return _merchant(connections_dir, sftp_server, per_file=10_000, chunk=20_000)


def _merchant(folder: Path, sftp: SFTPServer, *, per_file: int, chunk: int) -> Path:
    path = folder / "itsperfect_acme.yaml"
    path.write_text(MERCHANT.format(conn_id=sftp.conn_id, per_file=per_file, chunk=chunk))
    return path


def _inbound(sftp: SFTPServer) -> Path:
    folder = sftp.root / "acme" / "itsperfect" / "products"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _drop(sftp: SFTPServer, name: str, count: int, changed: set[int] | None = None) -> Path:
    path = _inbound(sftp) / name
    with path.open("wb") as out:
        write_catalogue(out, count, changed=changed or set())
    return path


def _products(store: MessageStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM catalogue_products")).scalar_one())


def _inbound_messages(store: MessageStore) -> list:
    return store.find(connection_id="itsperfect_acme", flow="products", direction=Direction.IN)


def test_a_catalogue_over_10_mib_streams_and_only_changes_go_out_again(
    acme: Path, sftp_server: SFTPServer, store: MessageStore
) -> None:
    monta = Monta(sftp_server.root)
    size = _drop(sftp_server, "articles_1.xml", 24_000).stat().st_size
    assert size > 10 * 1024 * 1024  # over max_file_bytes: refused before

    assert states(run_flow(acme, "products", "run-1")) == {"run-1": "success"}
    assert monta.collect() == 24_000
    assert monta.files == 3  # batches of 10,000
    assert set(monta.skus) == {catalogue_sku(i) for i in range(24_000)}
    assert set(monta.skus.values()) == {1}
    assert _products(store) == 24_000
    (message,) = _inbound_messages(store)
    assert message.status is MessageStatus.DELIVERED
    assert message.payload == b""  # the bytes are in payload_chunks, never one value
    assert message.size_bytes == size
    assert (message.disposition or "").startswith("archive:")
    with store.engine.connect() as conn:
        chunks = conn.execute(text("SELECT count(*) FROM payload_chunks")).scalar_one()
    assert chunks >= 11

    # The same catalogue again, under another name: nothing is new, nothing goes out.
    _drop(sftp_server, "articles_2.xml", 24_000)
    assert states(run_flow(acme, "products", "run-2")) == {"run-2": "success"}
    assert monta.collect() == 0
    assert _inbound_messages(store)[-1].status is MessageStatus.SKIPPED

    # Two articles renamed: exactly those two go out, in one file.
    _drop(sftp_server, "articles_3.xml", 24_000, changed={10, 20_000})
    assert states(run_flow(acme, "products", "run-3")) == {"run-3": "success"}
    assert monta.collect() == 2
    assert monta.skus[catalogue_sku(10)] == 2
    assert monta.skus[catalogue_sku(20_000)] == 2
    assert monta.names[catalogue_sku(10)].endswith("(nieuw)")
    assert monta.files == 4
    assert _products(store) == 24_000


HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ARTICLES = b'<Articles xmlns="urn:koppel:itsperfect:product:1">'
LAUGHS = (
    HEADER
    + b'<!DOCTYPE Articles [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b"]>\n"
    + ARTICLES
    + b"<Article><SKU>&i;</SKU></Article></Articles>\n"
)
EXTERNAL = (
    HEADER
    + b'<!DOCTYPE Articles [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    + ARTICLES
    + b"<Article><SKU>&x;</SKU></Article></Articles>\n"
)
DEEP = HEADER + ARTICLES + b"<Article>" + b"<x>" * 300 + b"</x>" * 300 + b"</Article></Articles>"
WRONG_ROOT = HEADER + b'<Products xmlns="urn:other"><Article/></Products>\n'


def _truncated() -> bytes:
    whole = samples_catalogue.product_export(count=5)
    return whole[: len(whole) - 200]


HOSTILE = {
    "entity_expansion": (LAUGHS, "xml.doctype"),
    "external_entity": (EXTERNAL, "xml.doctype"),
    "too_deep": (DEEP, "xml.too_deep"),
    "wrong_root": (WRONG_ROOT, "xsd.wrong_root"),
    "broken_mid_file": (_truncated(), "xml.syntax"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_catalogue_is_refused_whole_with_a_clear_problem(
    case: str, acme: Path, sftp_server: SFTPServer, store: MessageStore
) -> None:
    data, code = HOSTILE[case]
    (_inbound(sftp_server) / "hostile.xml").write_bytes(data)
    monta = Monta(sftp_server.root)

    assert states(run_flow(acme, "products", "run-1")) == {"run-1": "failed"}

    assert monta.collect() == 0
    assert _products(store) == 0
    (message,) = _inbound_messages(store)
    assert message.status is MessageStatus.REJECTED
    assert message.problems[0].code == code
    assert message.problems[0].line is not None
    report = sftp_server.root / "acme/itsperfect/products/error/hostile.xml.problems.txt"
    assert code in report.read_text()
    with store.engine.connect() as conn:
        stages = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_name LIKE 'catalogue_stage%'"
            )
        ).scalar_one()
    assert stages == 0


def test_bad_records_are_named_and_the_good_ones_still_go_out(
    acme: Path, sftp_server: SFTPServer, store: MessageStore
) -> None:
    data = samples_catalogue.product_export_bad_ean()  # the second article's EAN: 12 digits
    data = data.replace(b"<ArticleName>T-shirt Basic organic</ArticleName>", b"", 1)
    (_inbound(sftp_server) / "articles.xml").write_bytes(data)
    monta = Monta(sftp_server.root)

    assert states(run_flow(acme, "products", "run-1")) == {"run-1": "failed"}

    assert monta.collect() == 3
    (message,) = _inbound_messages(store)
    assert message.status is MessageStatus.REJECTED  # delivered in part: the run alerts
    errors = [p for p in message.problems if p.code == "xsd.invalid"]
    assert len(errors) == 2
    ean, name = errors
    assert ean.field is not None
    assert ean.field.startswith("Article[2] (sku ")
    assert ean.field.endswith(".EAN")
    assert ean.line is not None
    assert ean.line > 10
    assert name.field is not None
    assert name.field.startswith("Article[3]")
    summary = message.problems[-1]
    assert summary.code == "catalogue.summary"
    assert "5 records read, 2 left out" in summary.message
    report = sftp_server.root / "acme/itsperfect/products/error/articles.xml.problems.txt"
    assert "Article[2]" in report.read_text()


CRASH_POINTS = [
    ("receive.stored", 1),
    ("catalogue.staged", 2),
    ("catalogue.page", 3),
    ("catalogue.decided", 1),
    ("deliver.staged", 2),
    ("deliver.published", 2),
    ("process.delivered", 1),
]


@pytest.mark.parametrize(("point", "hit"), CRASH_POINTS, ids=[p for p, _ in CRASH_POINTS])
def test_a_catalogue_run_killed_mid_stream_recovers_exactly_once(
    point: str,
    hit: int,
    connections_dir: Path,
    sftp_server: SFTPServer,
    store_conn_id: str,
    store: MessageStore,
) -> None:
    acme = _merchant(connections_dir, sftp_server, per_file=1_000, chunk=1_000)
    _drop(sftp_server, "articles.xml", 5_000, changed={3})
    monta = Monta(sftp_server.root)

    killed = run_flow(acme, "products", "run-1", failpoint=f"{point}:{hit}")
    assert killed.returncode == -signal.SIGKILL, f"{point} was never reached:\n{killed.stderr}"
    monta.collect()
    assert states(run_flow(acme, "products", "run-1", "run-2")) == {
        "run-1": "success",
        "run-2": "success",
    }
    monta.collect()

    assert set(monta.skus) == {catalogue_sku(i) for i in range(5_000)}
    assert set(monta.skus.values()) == {1}
    assert _products(store) == 5_000
    (message,) = _inbound_messages(store)
    assert message.status is MessageStatus.DELIVERED
    assert (message.disposition or "").startswith("archive:")
    outbound = store.find(connection_id="itsperfect_acme", flow="products", direction=Direction.OUT)
    assert len(outbound) == 5
    assert {m.status for m in outbound} == {MessageStatus.DELIVERED}
    with store.engine.connect() as conn:
        claims = conn.execute(
            text("SELECT count(*) FROM messages WHERE claimed_by IS NOT NULL")
        ).scalar_one()
    assert claims == 0


def test_a_catalogue_over_max_stream_bytes_is_refused_unread(
    connections_dir: Path, sftp_server: SFTPServer, store_conn_id: str, store: MessageStore
) -> None:
    acme = connections_dir / "itsperfect_acme.yaml"
    merchant = MERCHANT.format(conn_id=sftp_server.conn_id, per_file=10, chunk=10)
    acme.write_text(
        merchant.replace("chunk_records: 10\n", "chunk_records: 10\n      max_stream_bytes: 1000\n")
    )
    _drop(sftp_server, "articles.xml", 20)

    assert states(run_flow(acme, "products", "run-1")) == {"run-1": "failed"}

    (message,) = _inbound_messages(store)
    assert message.status is MessageStatus.REJECTED
    assert message.problems[0].code == "file.too_large"
    assert "max_stream_bytes" in message.problems[0].message
    assert (sftp_server.root / "acme/itsperfect/products/error/articles.xml").exists()
    assert Monta(sftp_server.root).collect() == 0
