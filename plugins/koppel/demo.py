"""``make demo``: every example connection's flows, end to end, on this machine alone.

Starts a local SFTP server with the merchants' folders, an SMTP server for
alerts, the IPSoft and Le New Black emulators and an Isah ERP database (a
SQLite file), two store companies' store databases and a Peppol supplier's
ERP (SQLite files with the seeds of ``koppel.sandbox.store_erp``), drops the
files of ``koppel.demo_scenario``, the SCSN orders of ``koppel.demo_scsn`` and
the Peppol orders of ``koppel.demo_peppol`` in, runs the generated DAGs with ``dag.test()`` on an
embedded SQLite Airflow database and SQLite store, and prints one line per DAG
run. Exits 0 when the run behaved as designed: every good file delivered
(valid against its target format), every report back produced, every bad file
rejected into the error folder, the SCSN message fixed in the ERP accepted
on replay, each internal order of ``koppel.demo_stores`` through its four
flows and each Peppol order answered as designed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from koppel import INCLUDE_DIR, PROJECT_ROOT

DEMO_DIR = PROJECT_ROOT / ".demo"
#: The example ``ubl_stores`` companies (connection files ``ubl_<prefix>.yaml``).
STORE_COMPANIES = ("nordkauppa", "lumikki")


def _sqlite(name: str) -> str:
    """An Airflow connection (JSON) to the SQLite database ``<name>.db`` in the demo's folder."""
    return json.dumps({"conn_type": "sqlite", "host": str(DEMO_DIR / f"{name}.db")})


def _prepare_environment(sftp_uri: str, smtp_connection: str, api: dict[str, str]) -> None:
    """Point Airflow and Koppel at the demo's own folder before Airflow is imported."""
    airflow_home = DEMO_DIR / "airflow"
    airflow_home.mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "KOPPEL_CONNECTIONS_DIR": str(INCLUDE_DIR / "connections"),
            "AIRFLOW_CONN_KOPPEL_STORE": f"sqlite:///{DEMO_DIR / 'store.db'}",
        }
    )
    for merchant in ("acme", "bellamoda"):
        os.environ[f"AIRFLOW_CONN_SFTP_{merchant.upper()}"] = sftp_uri
    # The SCSN supplier: its provider's SFTP account and its ERP, a SQLite file.
    os.environ["AIRFLOW_CONN_SCSN_SFTP_TECHPARTS"] = sftp_uri
    os.environ["AIRFLOW_CONN_ISAH_TECHPARTS"] = _sqlite("isah")
    # The stores of seed 003: each company's SFTP account and one SQLite file per store.
    for company in STORE_COMPANIES:
        os.environ[f"AIRFLOW_CONN_STORES_SFTP_{company.upper()}"] = sftp_uri
        for store in ("a", "b"):
            os.environ[f"AIRFLOW_CONN_STORE_{store.upper()}_{company.upper()}"] = _sqlite(
                f"store_{store}_{company}"
            )
    # The Peppol supplier: its access point's SFTP account and its ERP, a SQLite file.
    os.environ["AIRFLOW_CONN_PEPPOL_SFTP_ARCTIC"] = sftp_uri
    os.environ["AIRFLOW_CONN_ERP_ARCTIC"] = _sqlite("erp_arctic")
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = smtp_connection
    os.environ.update(api)


def main() -> int:
    """Run the demo; the exit code says whether everything ended where it should."""
    from koppel.demo_scenario import ipsoft_state
    from koppel.sandbox.crm import CrmServer
    from koppel.sandbox.ipsoft import IPSoftServer, IPSoftState, seed_demo
    from koppel.sandbox.lenewblack import LeNewBlackServer
    from koppel.sandbox.sftp_server import SFTPServer
    from koppel.sandbox.smtp_server import SMTPServer
    from koppel.sandbox.webshop import WebshopServer

    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    sftp_root = DEMO_DIR / "sftp"
    sftp_root.mkdir(parents=True)
    sftp = SFTPServer(root=sftp_root, username="demo", password="demo-only-secret")
    ipsoft = IPSoftServer(ipsoft_state(), conn_id="ipsoft_noordzee")
    portal = LeNewBlackServer(conn_id="lenewblack_noordzee")
    # Seed 001's document types: Koffiebar Noord's webshop and Adviesgroep Delta's CRM,
    # both delivering to one more emulated IPSoft company.
    erp_documents = IPSoftServer(seed_demo(IPSoftState()), conn_id="ipsoft_koffiebar")
    webshop = WebshopServer(conn_id="webshop_koffiebar")
    crm = CrmServer(conn_id="crm_adviesgroep")
    with sftp, SMTPServer() as smtp, ipsoft, portal, erp_documents, webshop, crm:
        portal.seed_demo()
        api = {
            "AIRFLOW_CONN_IPSOFT_NOORDZEE": ipsoft.airflow_connection(),
            "AIRFLOW_CONN_LENEWBLACK_NOORDZEE": portal.airflow_connection(),
            "AIRFLOW_CONN_IPSOFT_KOFFIEBAR": erp_documents.airflow_connection(),
            "AIRFLOW_CONN_IPSOFT_ADVIESGROEP": erp_documents.airflow_connection(),
            "AIRFLOW_CONN_WEBSHOP_KOFFIEBAR": webshop.airflow_connection(),
            "AIRFLOW_CONN_CRM_ADVIESGROEP": crm.airflow_connection(),
        }
        _prepare_environment(sftp.airflow_connection_uri(), smtp.airflow_connection(), api)
        from koppel.demo_run import run_demo
        from koppel.demo_scenario import scenario
        from koppel.sandbox.scsn_demo import create_demo_erp
        from koppel.sandbox.store_erp import (
            PEPPOL_SUPPLIER_SEED,
            STORE_A_SEED,
            STORE_B_SEED,
            create_store_database,
        )

        erp = create_demo_erp(f"sqlite:///{DEMO_DIR / 'isah.db'}")
        stores = {
            company: (
                create_store_database(
                    f"sqlite:///{DEMO_DIR / f'store_a_{company}.db'}", STORE_A_SEED
                ),
                create_store_database(
                    f"sqlite:///{DEMO_DIR / f'store_b_{company}.db'}", STORE_B_SEED
                ),
            )
            for company in STORE_COMPANIES
        }
        supplier = create_store_database(
            f"sqlite:///{DEMO_DIR / 'erp_arctic.db'}", PEPPOL_SUPPLIER_SEED
        )

        ok = run_demo(
            sftp_root,
            scenario(),
            smtp,
            (ipsoft, portal),
            erp,
            stores=stores,
            supplier=supplier,
            documents=(erp_documents, webshop, crm),
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
