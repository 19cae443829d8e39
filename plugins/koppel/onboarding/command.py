"""``koppel new``: seed 000's fourteen onboarding steps as one command.

The command checks the options against what the platform template needs,
writes the merchant file (flows paused), loads it with the real loader, runs
``koppel lint``'s checks on it, pins and runs the template's contract cases
for it, and prints what is left outside Koppel. Exit codes follow ``koppel``'s:
0 written and every check passed, 1 written but a check failed, 2 the command
was called wrongly (nothing is written then).

Help texts are argparse's plain strings, as in ``koppel.cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

_EXAMPLE = (
    "example: koppel new --platform itsperfect_monta --id itsperfect_jackyluxury "
    "--prefix jackyluxury --relation-id 27794 --channels B2C,B2B --name 'Jacky Luxury'"
)


def add_new_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``new`` on the ``koppel`` command's subparsers."""
    new = commands.add_parser(
        "new",
        help="onboard a merchant: write its connection file from a platform template (paused), "
        "lint it, pin the template's cases for it and print what is left outside Koppel",
        description="Which options a platform needs follows from its template: "
        "the command names any that is missing.",
        epilog=f"{_EXAMPLE}. Exit codes: 0 written and every check passed, 1 written but lint "
        "or a case failed, 2 usage errors (nothing written).",
    )
    new.add_argument(
        "--platform", required=True, help="the platform template _<platform>.yaml to extend"
    )
    new.add_argument(
        "--id",
        required=True,
        dest="connection_id",
        help="the merchant's connection id, e.g. itsperfect_<name>: file name and DAG id prefix",
    )
    new.add_argument("--name", help="the merchant's display name (default: from the id)")
    new.add_argument("--prefix", help="the merchant's folder and connection-id prefix")
    new.add_argument("--relation-id", help="the merchant's Monta relation id (IT's Perfect)")
    new.add_argument(
        "--channels",
        help="sales channels, comma-separated, each optionally with its origin: "
        "B2C,B2B or B2C=acme-webshop,B2B=acme-wholesale (default origin: <prefix>-webshop, "
        "<prefix>-wholesale)",
    )
    new.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template var, e.g. sftp_conn_id=sftp_acme (default: the template's); repeatable",
    )
    new.add_argument(
        "--alert-email", action="append", default=[], help="failure alerts go here; repeatable"
    )
    new.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="the connections folder (default: $KOPPEL_CONNECTIONS_DIR or include/connections)",
    )
    new.add_argument(
        "--dry-run", action="store_true", help="print the file and the plan; write nothing"
    )
    new.set_defaults(handler=run_new)


def main(argv: Sequence[str] | None = None) -> int:
    """``koppel new`` on its own (``python -m koppel.onboarding.command new ...``)."""
    parser = argparse.ArgumentParser(prog="koppel")
    add_new_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def run_new(args: argparse.Namespace) -> int:
    """Write (or with ``--dry-run`` print) a new merchant's file, check it, print the plan.

    Returns:
        0 written and every check passed, 1 written but lint or a case failed,
        2 usage errors (nothing written).
    """
    from koppel.onboarding.steps import onboard

    return onboard(args)


if __name__ == "__main__":
    sys.exit(main())
