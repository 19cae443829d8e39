"""The ``koppel`` command: lint connection files, inspect formats, parse files, post orders
to the ledger, work the inbox.

The inbox commands (``messages``, ``messages show|edit``, ``replay``) only
parse arguments and print here; what they do is ``koppel.inbox``.

Exit codes: 0 all good, 1 the input has problems or the store cannot be
reached, 2 usage and configuration errors (argparse's own convention), so
scripts and CI can tell "your file is wrong" from "you called it wrong".
Every error is one line on stderr, without a traceback.

The help texts are argparse's own plain strings: docstrings here are written for
Sphinx and would show their markup in ``koppel --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from koppel.documents import MutationLevel, has_errors
from koppel.errors import ConfigError, KoppelError
from koppel.onboarding.command import add_new_command

if TYPE_CHECKING:
    from datetime import datetime

    from koppel.documents import FinancialMutation
    from koppel.rules.financial_mutation import LedgerAccounts
    from koppel.store import Direction, MessageStatus, MessageStore

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

DESCRIPTION = (
    "Lint connection files, inspect formats, parse files, post orders to the ledger, "
    "browse the message store, write the DAG files and run the connections' contract cases."
)
EPILOG = (
    "Exit codes: 0 all good, 1 the input has problems or the store cannot be reached, "
    "2 usage or configuration errors."
)
#: What to set when no store is configured; the command does not read Airflow's metadata
#: database, so a connection added there (UI, ``airflow connections add``) is not seen.
NO_STORE = (
    "no message store configured: pass --store-url or set KOPPEL_STORE_URL "
    "(postgresql+psycopg://USER:PASSWORD@HOST/DB or sqlite:///PATH), "
    "or set AIRFLOW_CONN_KOPPEL_STORE"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``koppel`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"koppel: {_first_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KoppelError as exc:
        print(f"koppel: {_first_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEMS
    return code


def _first_line(exc: Exception) -> str:
    """The error's first line: database errors go on with driver hints and a link to SQLAlchemy."""
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="koppel", description=DESCRIPTION, epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", required=True)

    lint = commands.add_parser("lint", help="validate connection files and mappings")
    lint.add_argument("paths", nargs="*", type=Path, help="files or folders (default: connections)")
    lint.set_defaults(handler=_lint)

    formats = commands.add_parser("formats", help="list the wire formats, one a line")
    formats.set_defaults(handler=_formats)

    parse = commands.add_parser("parse", help="read a file into canonical documents")
    parse.add_argument("--format", required=True, dest="format_name", help="wire format name")
    parse.add_argument("file", type=Path)
    parse.set_defaults(handler=_parse)

    post = commands.add_parser(
        "post",
        help="post the orders of a file to the ledger and print each journal entry as JSON",
        epilog="Exit codes: 0 every entry balances, 1 a document cannot be read or posted, "
        "2 usage errors and a broken accounts file.",
    )
    post.add_argument(
        "--level",
        required=True,
        choices=[level.value for level in MutationLevel],
        help="how much detail the entry carries (seed 001)",
    )
    post.add_argument(
        "--format",
        required=True,
        dest="format_name",
        help="any order format, e.g. canonical.order (what koppel parse prints)",
    )
    post.add_argument(
        "--accounts",
        type=Path,
        help="YAML file of ledger accounts: debtor, revenue, tax_payable, rounding, turnover, "
        "revenue_by_kind, discounts (default: a Dutch-style chart)",
    )
    post.add_argument("file", type=Path)
    post.set_defaults(handler=_post)

    messages = commands.add_parser(
        "messages", help="the inbox: list stored messages, newest first; show or edit one"
    )
    messages.add_argument("--connection", help="only this connection's messages")
    messages.add_argument("--flow", help="only this flow's messages")
    messages.add_argument(
        "--status",
        type=_status,
        action="append",
        help="only messages in this status (received, delivered, ...); repeat for several",
    )
    messages.add_argument(
        "--direction", type=_direction, metavar="{in,out}", help="only inbound or outbound"
    )
    messages.add_argument(
        "--since",
        type=_since,
        metavar="WHEN",
        help="stored at or after this date (2026-11-29) or ISO time (UTC unless it says)",
    )
    messages.add_argument(
        "--until",
        type=_until,
        metavar="WHEN",
        help="stored before this ISO time, or up to the end of this date",
    )
    messages.add_argument(
        "--problem",
        metavar="CODE",
        help="only messages with a problem whose code starts with CODE (e.g. scsn.price)",
    )
    messages.add_argument(
        "--limit", type=_positive, default=50, help="show at most this many (default: 50)"
    )
    messages.add_argument("--problems", action="store_true", help="show each message's problems")
    _store_option(messages)
    messages.set_defaults(handler=_messages)
    actions = messages.add_subparsers(dest="action", metavar="{show,edit}")
    show = actions.add_parser(
        "show", help="one message: payload, parsed document, problems, decisions, edits, copies"
    )
    show.add_argument("message_id", type=int, help="the message's id, as koppel messages lists it")
    _store_option(show, nested=True)
    show.set_defaults(handler=_show)
    edit = actions.add_parser(
        "edit",
        help="store a corrected copy of an inbound message (the original is kept) "
        "and put it back to be processed",
    )
    edit.add_argument("message_id", type=int, help="the inbound message's id")
    edit.add_argument("--file", type=Path, required=True, help="the corrected payload")
    edit.add_argument("--user", help="who made the correction (default: your login name)")
    _store_option(edit, nested=True)
    edit.set_defaults(handler=_edit)

    replay = commands.add_parser(
        "replay",
        help="run every check on a stored message again now and deliver it if it passes",
        epilog="Exit codes: 0 delivered (or nothing to send) or queued, 1 rejected, held or "
        "failed, 2 usage errors and unknown ids.",
    )
    replay.add_argument(
        "message_id", type=int, help="an inbound message's id, as koppel messages lists it"
    )
    replay.add_argument(
        "--queue", action="store_true", help="only queue it for its flow's next run (as before)"
    )
    replay.add_argument(
        "--force", action="store_true", help="replay a delivered or skipped message too"
    )
    _store_option(replay)
    replay.set_defaults(handler=_replay)

    dags = commands.add_parser(
        "dags", help="write one DAG file per connection file into the DAGs folder"
    )
    dags.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when a DAG file is out of step"
    )
    dags.add_argument(
        "--dags-folder",
        type=Path,
        default=None,
        help="the Airflow DAGs folder (default: the project's dags/)",
    )
    dags.set_defaults(handler=_dags)

    return _with_test_and_new(parser, commands)


def _with_test_and_new(
    parser: argparse.ArgumentParser,
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """``parser`` with ``koppel test`` (contract cases per connection, docs/contract_tests.md)
    and ``koppel new`` (onboarding a merchant, docs/onboarding.md)."""
    test = commands.add_parser(
        "test",
        help="run each connection's contract cases through the engine and compare the outcome",
        epilog="Exit codes: 0 every case passes, 1 a case fails, 2 usage errors "
        "(an unknown connection or flow). See docs/contract_tests.md.",
    )
    test.add_argument("connections", nargs="*", help="connection ids (default: all)")
    test.add_argument("--flow", help="only this flow's cases")
    test.add_argument(
        "--update",
        action="store_true",
        help="print each difference, then pin the outcome of every case that differs",
    )
    test.add_argument(
        "--dir",
        type=Path,
        default=None,
        dest="connections_dir",
        help="the folder of connection files and their .cases (default: $KOPPEL_CONNECTIONS_DIR "
        "or include/connections)",
    )
    test.add_argument(
        "--mappings",
        type=Path,
        default=None,
        help="a folder of mapping files to run with instead of include/mappings "
        "(to see what a mapping change does before it is made)",
    )
    test.set_defaults(handler=_test)
    add_new_command(commands)
    return parser


def _store_option(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """``--store-url``; on a nested command it keeps a value given before the command name.

    (argparse lets a subcommand's default overwrite what its parent parsed.)
    """
    parser.add_argument(
        "--store-url",
        default=argparse.SUPPRESS if nested else os.environ.get("KOPPEL_STORE_URL"),
        help="SQLAlchemy URL of the store (default: $KOPPEL_STORE_URL, else the Airflow "
        "connection koppel_store from $AIRFLOW_CONN_KOPPEL_STORE or a secrets backend)",
    )


def _status(text: str) -> MessageStatus:
    """A ``--status`` value; statuses are imported only when one is given, to keep startup fast."""
    from koppel.store import MessageStatus

    try:
        return MessageStatus(text)
    except ValueError:
        known = ", ".join(s.value for s in MessageStatus)
        raise argparse.ArgumentTypeError(f"unknown status {text!r}; known: {known}") from None


def _direction(text: str) -> Direction:
    from koppel.store import Direction

    try:
        return Direction(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"unknown direction {text!r}; known: in, out") from None


def _since(text: str) -> datetime:
    return _moment(text, end=False)


def _until(text: str) -> datetime:
    return _moment(text, end=True)


def _moment(text: str, *, end: bool) -> datetime:
    from koppel.inbox import parse_moment

    try:
        return parse_moment(text, end=end)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date (2026-11-29) or ISO time (2026-11-29T08:00:00+01:00): {text!r}"
        ) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _lint(args: argparse.Namespace) -> int:
    from koppel.config.lint import lint_paths
    from koppel.formats import default_registry
    from koppel.pipeline.rules import RULES
    from koppel.settings import connections_dir

    paths = args.paths or [connections_dir()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(
            f"koppel lint: no such file or folder: {', '.join(map(str, missing))}", file=sys.stderr
        )
        return EXIT_USAGE
    problems = lint_paths(
        paths, known_formats=set(default_registry().names()), known_rules=set(RULES)
    )
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return EXIT_PROBLEMS
    print("ok")
    return EXIT_OK


def _formats(_: argparse.Namespace) -> int:
    from koppel.formats import default_registry

    for name in default_registry().names():
        print(name)
    return EXIT_OK


def _parse(args: argparse.Namespace) -> int:
    from koppel.formats import default_registry

    if not args.file.is_file():
        print(f"koppel parse: no such file: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    fmt = default_registry().get(args.format_name)
    result = fmt.read(args.file.read_bytes(), source=str(args.file))
    documents = [d.model_dump(mode="json") for d in result.documents]
    print(json.dumps(documents, indent=2, ensure_ascii=False))
    for problem in result.problems:
        print(problem)
    return EXIT_PROBLEMS if has_errors(result.problems) else EXIT_OK


def _post(args: argparse.Namespace) -> int:
    """Post every order of a file at ``--level``; each entry as JSON, then whether it balances."""
    from koppel.documents import Order
    from koppel.formats import default_registry
    from koppel.rules.financial_mutation import DEFAULT_ACCOUNTS, post_order

    if not args.file.is_file():
        print(f"koppel post: no such file: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    accounts = DEFAULT_ACCOUNTS if args.accounts is None else _ledger_accounts(args.accounts)
    fmt = default_registry().get(args.format_name)
    if not (fmt.can_read and issubclass(fmt.document_class, Order)):
        print(
            f"koppel post: {fmt.name} does not read orders ({fmt.document_class.__name__})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    result = fmt.read(args.file.read_bytes(), source=str(args.file))
    failed = has_errors(result.problems)
    for problem in result.problems:
        print(f"koppel post: {problem}", file=sys.stderr)
    if not result.documents and not failed:
        print(f"koppel post: {args.file}: the file holds no documents", file=sys.stderr)
        failed = True
    for order in result.documents:
        assert isinstance(order, Order)  # the format's document class, checked above
        decision = post_order(order, MutationLevel(args.level), accounts)
        for problem in decision.problems:
            print(f"koppel post: {args.file}: order {order.order_id}: {problem}", file=sys.stderr)
        if decision.mutation is None:
            failed = True
            continue
        print(json.dumps(_journal_entry(decision.mutation), indent=2, ensure_ascii=False))
        balanced, line = _balance_line(decision.mutation)
        print(line)
        failed = failed or not balanced
    return EXIT_PROBLEMS if failed else EXIT_OK


def _journal_entry(mutation: FinancialMutation) -> dict[str, object]:
    """The entry as JSON-ready values; amounts are strings at the currency's minor unit,
    never floats, so ``0.10`` prints as ``"0.10"`` and reads back exactly."""
    from koppel.rules.money import quantize

    def money(amount: Decimal) -> str:
        return str(quantize(amount, mutation.currency))

    return {
        "date": mutation.booking_date.isoformat() if mutation.booking_date else None,
        "reference": mutation.reference,
        "description": mutation.description,
        "level": mutation.level.value,
        "currency": mutation.currency,
        "lines": [
            {
                "account": line.account,
                "description": line.description,
                "debit": money(line.debit),
                "credit": money(line.credit),
                "tax_code": line.tax_code,
                "rounding": line.is_rounding,
            }
            for line in mutation.lines
        ],
    }


def _balance_line(mutation: FinancialMutation) -> tuple[bool, str]:
    """Whether the entry balances, and the line saying so with the totals and any rounding."""
    from koppel.rules.financial_mutation import rounding_difference
    from koppel.rules.money import quantize

    cur = mutation.currency
    debit = quantize(sum((ln.debit for ln in mutation.lines), Decimal(0)), cur)
    credit = quantize(sum((ln.credit for ln in mutation.lines), Decimal(0)), cur)
    rounding = rounding_difference(mutation)
    note = f"; rounding line {quantize(rounding, cur)} {cur}" if rounding else "; no rounding line"
    if mutation.imbalance() == 0:
        return True, f"balanced: debit {debit} = credit {credit} {cur}{note}"
    return False, f"NOT balanced: debit {debit}, credit {credit} {cur}{note}"


def _ledger_accounts(path: Path) -> LedgerAccounts:
    """The accounts of a ``--accounts`` YAML file: the keys of ``ledger_accounts:``.

    Raises:
        ConfigError: The file is missing, not YAML, or a key is unknown, missing or
            of the wrong type (the key is named).
    """
    import yaml

    from koppel.config.ledger import ledger_accounts

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the accounts: {_first_line(exc)}") from exc
    return ledger_accounts(data, where=str(path))


def _open_store(url: str | None) -> MessageStore:
    """The store at ``url``, else the one the Airflow connection ``koppel_store`` names.

    Raises:
        ConfigError: no store is configured, or the URL names none Koppel can open.
        StoreError: the store cannot be reached or migrated; the message shows
            the URL with its password masked.
    """
    if url:
        return _store_at(url)
    from airflow.sdk.exceptions import AirflowNotFoundException

    from koppel.hooks.store import KoppelStoreHook

    try:
        return KoppelStoreHook().get_store()
    except AirflowNotFoundException as exc:
        raise ConfigError(NO_STORE) from exc


def _store_at(url: str) -> MessageStore:
    """The (migrated) store at a SQLAlchemy URL; a URL without a usable driver is a usage error."""
    from sqlalchemy.exc import ArgumentError

    from koppel.store import MessageStore, create_store_engine, migrate

    try:
        engine = create_store_engine(url)
    except (ArgumentError, ImportError) as exc:  # an unparsable URL, an unknown or missing driver
        raise ConfigError(
            f"store URL: {exc} (use postgresql+psycopg://USER:PASSWORD@HOST/DB or sqlite:///PATH)"
        ) from exc
    migrate(engine)
    return MessageStore(engine)


def _messages(args: argparse.Namespace) -> int:
    from koppel.inbox import safe

    store = _open_store(args.store_url)
    filters = {
        "connection_id": args.connection,
        "flow": args.flow,
        "status": args.status,
        "direction": args.direction,
        "since": args.since,
        "until": args.until,
        "problem_code": args.problem,
    }
    rows = store.list_messages(**filters, limit=args.limit)
    header = ("id", "created", "connection", "flow", "dir", "status", "key / source")
    print("{:>6}  {:19}  {:20} {:14} {:3} {:9}  {}".format(*header))
    for m in rows:
        key = safe(m.document_key or m.source_name)
        created = m.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{m.id:>6}  {created}  {m.connection_id:20} {m.flow:14} {m.direction:3} "
            f"{m.status:9}  {key}"
        )
        if args.problems:
            for problem in m.problems:
                print(f"{'':8}- {safe(str(problem))}")
    if len(rows) == args.limit:  # a shorter page is the whole list: no count needed
        total = store.count_messages(**filters)
        if total > len(rows):
            print(
                f"showing the newest {len(rows):,} of {total:,}; use --limit to see more",
                file=sys.stderr,
            )
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from koppel.inbox import show

    store = _open_store(args.store_url)
    if _missing(store, args.message_id, "messages show"):
        return EXIT_USAGE
    for line in show(store, args.message_id):
        print(line)
    return EXIT_OK


def _edit(args: argparse.Namespace) -> int:
    from koppel.inbox import edit, safe, stamp
    from koppel.settings import connections_dir

    if not args.file.is_file():
        print(f"koppel messages edit: no such file: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(args.store_url)
    if _missing(store, args.message_id, "messages edit"):
        return EXIT_USAGE
    payload = args.file.read_bytes()
    stored = edit(store, args.message_id, payload, edited_by=args.user, flows=connections_dir())
    if stored is None:
        print(f"message {args.message_id} holds this payload already; nothing stored")
        return EXIT_OK
    message = store.get_summary(args.message_id)
    print(
        f"message {message.id}: edit {stored.id} stored by {safe(stored.edited_by)} at "
        f"{stamp(stored.edited_at)}; the payload as received is kept"
    )
    for line in stored.diff.splitlines():
        print(safe(line))
    print(
        f"it waits for the next run of {message.connection_id}__{message.flow}; "
        f"`koppel replay {message.id}` runs every check on it now"
    )
    return EXIT_OK


def _missing(store: MessageStore, message_id: int, command: str) -> bool:
    """Say so when no message has this id: a wrong id is a usage error, not a store failure."""
    if store.get_summaries([message_id]):
        return False
    print(f"koppel {command}: no message {message_id}", file=sys.stderr)
    return True


def _replay(args: argparse.Namespace) -> int:
    """Replay an inbound message now (or, with ``--queue``, queue it for the next run)."""
    from koppel.inbox import describe, passed, queue_outcome, replay
    from koppel.settings import connections_dir
    from koppel.store import Direction, MessageStatus

    store = _open_store(args.store_url)
    if _missing(store, args.message_id, "replay"):
        return EXIT_USAGE
    message = store.get_summary(args.message_id)
    if message.direction != Direction.IN:
        print(
            f"koppel replay: message {message.id} is outbound; "
            f"replay its inbound message {message.parent_id}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    dag_id = f"{message.connection_id}__{message.flow}"
    outcome = queue_outcome(store, message)
    if message.status in {MessageStatus.DELIVERED, MessageStatus.SKIPPED} and not args.force:
        what = f"if replayed, {outcome}" if args.queue else _NOTHING_TWICE
        print(
            f"koppel replay: message {message.id} was {message.status}; {what}. "
            "Pass --force to replay it anyway.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not args.queue:
        flow, replayed = replay(store, message.id, flows=connections_dir())
        for line in describe(flow, replayed):
            print(line)
        return EXIT_OK if passed(replayed) else EXIT_PROBLEMS
    if message.status is MessageStatus.RECEIVED:
        print(f"message {message.id} already waits for the next run of {dag_id}; nothing changed")
        return EXIT_OK
    store.requeue(message.id)
    print(f"message {message.id} ({message.status}) queued for the next run of {dag_id}: {outcome}")
    return EXIT_OK


#: Why replaying a delivered message now is refused without --force, and harmless with it.
_NOTHING_TWICE = (
    "replaying it now delivers nothing twice: a message is decided once, and each outbound "
    "document is stored once under its delivery key (target file name, order reference)"
)


def _dags(args: argparse.Namespace) -> int:
    """Sync (or with ``--check`` compare) ``<dags>/connections`` with the connection files."""
    from koppel import PROJECT_ROOT
    from koppel.dag_files import COMMAND, plan_dag_files, sync_dag_files
    from koppel.settings import connections_dir

    stubs = (args.dags_folder or PROJECT_ROOT / "dags") / "connections"
    if args.check:
        changes = plan_dag_files(stubs, connections_dir())
        for line in changes.describe(done=False):
            print(line)
        if changes:
            print(
                f"DAG files out of step with the connection files: run `{COMMAND}`", file=sys.stderr
            )
            return EXIT_PROBLEMS
    else:
        try:
            changes = sync_dag_files(stubs, connections_dir())
        except OSError as exc:
            print(f"koppel dags: cannot write the DAG files: {exc}", file=sys.stderr)
            return EXIT_PROBLEMS
        for line in changes.describe(done=True):
            print(line)
    if not changes:
        print(f"{stubs}: DAG files up to date")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())


def _test(args: argparse.Namespace) -> int:
    import logging

    from koppel import INCLUDE_DIR
    from koppel.contract import CaseFileError, run_cases
    from koppel.formats import FormatRegistry
    from koppel.formats.canonical import CANONICAL_CLASSES
    from koppel.settings import connections_dir

    folder = args.connections_dir or connections_dir()
    if not folder.is_dir():
        print(f"koppel test: no such folder: {folder}", file=sys.stderr)
        return EXIT_USAGE
    formats = None
    if args.mappings is not None:
        if not args.mappings.is_dir():
            print(f"koppel test: no such folder: {args.mappings}", file=sys.stderr)
            return EXIT_USAGE
        formats = FormatRegistry(
            args.mappings, INCLUDE_DIR / "schemas", canonical=CANONICAL_CLASSES
        )
    # A case held or rejected on purpose is no warning for the console: the lines say it.
    engine_log = logging.getLogger("koppel")
    level = engine_log.level
    engine_log.setLevel(logging.ERROR)
    try:
        report = run_cases(
            folder, args.connections or None, flow=args.flow, update=args.update, formats=formats
        )
    except CaseFileError as exc:
        print(f"koppel test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine_log.setLevel(level)
    return EXIT_PROBLEMS if report.failed else EXIT_OK
