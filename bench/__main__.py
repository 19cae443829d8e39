"""``make bench``: measure Koppel's hot paths against plain-library baselines, write results.json.

Timings on a shared machine are noisy, so every figure that matters is a
ratio to a baseline doing the irreducible part of the same work (parsing the
same bytes with bare lxml, loading the same YAML with bare libyaml), measured
in the same process, best of several repeats.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from lxml import etree

from koppel import INCLUDE_DIR
from koppel.documents import Order
from koppel.formats import default_registry
from koppel.sandbox import samples

RESULTS = Path(__file__).resolve().parent / "results.json"
REPEATS = 5


def best_of(work: Callable[[], object], number: int) -> float:
    """Seconds per call: the best of REPEATS rounds of ``number`` calls."""
    rounds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(number):
            work()
        rounds.append((time.perf_counter() - start) / number)
    return min(rounds)


def compare(
    name: str, work: Callable[[], object], baseline: Callable[[], object], number: int
) -> dict[str, object]:
    """One benchmark row: our time, the baseline's, and their ratio."""
    ours, base = best_of(work, number), best_of(baseline, number)
    row = {"name": name, "seconds": ours, "baseline_seconds": base, "ratio": ours / base}
    print(
        f"{name:28} {ours * 1e3:9.3f} ms  baseline {base * 1e3:9.3f} ms  ratio {ours / base:6.1f}"
    )
    return row


def bench_read() -> dict[str, object]:
    """Reading an IT's Perfect order: hardened parse + XSD + mapping vs a bare lxml parse."""
    data = samples.good_order("100231", lines=20)
    fmt = default_registry().get("itsperfect.order")
    return compare(
        "read itsperfect.order",
        lambda: fmt.read(data, source="bench.xml"),
        lambda: etree.fromstring(data),
        200,
    )


def bench_write() -> dict[str, object]:
    """Writing and validating a Monta order vs serializing a parsed tree of the same size."""
    data = samples.good_order("100231", lines=20)
    document = (
        default_registry().get("itsperfect.order").read(data, source="bench.xml").documents[0]
    )
    assert isinstance(document, Order)
    fmt = default_registry().get("monta.order")
    context = {"origin": "acme-webshop", "connection_id": "bench", "flow": "orders"}
    output = fmt.write(document, context=context)
    tree = etree.fromstring(output)
    return compare(
        "write+validate monta.order",
        lambda: fmt.validate(fmt.write(document, context=context), source="bench.xml"),
        lambda: etree.tostring(tree, xml_declaration=True, encoding="UTF-8"),
        200,
    )


def bench_dag_parse(connections: int = 300) -> dict[str, object]:
    """Building every DAG of N merchant files (seven flows each) vs only loading the YAML.

    Each connection is built as its own generated DAG file builds it (template read again).
    """
    from koppel.dag_factory import connection_dags

    folder = Path(tempfile.mkdtemp(prefix="koppel-bench-"))
    try:
        shutil.copy(INCLUDE_DIR / "connections" / "_itsperfect_monta.yaml", folder)
        for n in range(connections):
            (folder / f"merchant_{n:04d}.yaml").write_text(
                f"extends: _itsperfect_monta\nname: Merchant {n}\nprefix: m{n:04d}\n"
                f"channels:\n  B2C: {{origin: m{n:04d}-web}}\n"
                f"vars:\n  sftp_conn_id: sftp_m{n:04d}\n"
            )
        files = sorted(folder.glob("*.yaml"))

        def load_yaml_only() -> None:
            for path in files:
                yaml.load(path.read_text(), Loader=yaml.CSafeLoader)

        def build_all() -> int:
            merchants = folder.glob("merchant_*.yaml")
            return sum(len(connection_dags(path.stem, directory=folder)) for path in merchants)

        dags = build_all()
        row = compare(f"DAGs of {connections} merchants", build_all, load_yaml_only, 1)
        row["dags"] = dags
        row["ms_per_dag"] = float(row["seconds"]) * 1e3 / dags  # type: ignore[arg-type]
        return row
    finally:
        shutil.rmtree(folder)


def main() -> int:
    rows = [bench_read(), bench_write(), bench_dag_parse()]
    RESULTS.write_text(
        json.dumps(
            {"python": sys.version.split()[0], "machine": platform.machine(), "results": rows},
            indent=2,
        )
        + "\n"
    )
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
