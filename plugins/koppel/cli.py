"""The ``koppel`` command: lint connection files, inspect formats, parse files, browse the store.

Exit codes: 0 all good, 1 the input has problems, 2 usage errors (argparse's
own convention), so scripts and CI can tell "your file is wrong" from "you
called it wrong".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from koppel.documents import has_errors
from koppel.errors import ConfigError, KoppelError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``koppel`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"koppel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KoppelError as exc:
        print(f"koppel: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="koppel", description=__doc__.splitlines()[0])
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

    messages = commands.add_parser("messages", help="list the store's messages, newest first")
    messages.add_argument("--connection")
    messages.add_argument("--flow")
    messages.add_argument("--status")
    messages.add_argument("--limit", type=int, default=50)
    messages.add_argument("--problems", action="store_true", help="show each message's problems")
    _store_option(messages)
    messages.set_defaults(handler=_messages)

    replay = commands.add_parser("replay", help="queue a stored message for its flow's next run")
    replay.add_argument("message_id", type=int)
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
    return parser


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store-url",
        default=os.environ.get("KOPPEL_STORE_URL"),
        help="SQLAlchemy URL of the store (default: $KOPPEL_STORE_URL, else the Airflow "
        "connection koppel_store)",
    )


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


def _open_store(url: str | None):  # type: ignore[no-untyped-def]
    """The store from an explicit URL, or through the Airflow connection ``koppel_store``."""
    if url:
        from koppel.store import MessageStore, create_store_engine, migrate

        engine = create_store_engine(url)
        migrate(engine)
        return MessageStore(engine)
    from koppel.hooks.store import KoppelStoreHook

    return KoppelStoreHook().get_store()


def _messages(args: argparse.Namespace) -> int:
    store = _open_store(args.store_url)
    rows = store.list_messages(
        connection_id=args.connection, flow=args.flow, status=args.status, limit=args.limit
    )
    header = ("id", "created", "connection", "flow", "dir", "status", "key / source")
    print("{:>6}  {:19}  {:20} {:14} {:3} {:9}  {}".format(*header))
    for m in rows:
        key = m.document_key or m.source_name
        created = m.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{m.id:>6}  {created}  {m.connection_id:20} {m.flow:14} {m.direction:3} "
            f"{m.status:9}  {key}"
        )
        if args.problems:
            for problem in m.problems:
                print(f"{'':8}- {problem}")
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from koppel.store import Direction

    store = _open_store(args.store_url)
    message = store.get(args.message_id)
    if message.direction != Direction.IN:
        print(
            f"koppel replay: message {message.id} is outbound; "
            f"replay its inbound message {message.parent_id}"
        )
        return EXIT_USAGE
    store.requeue(message.id)
    print(
        f"message {message.id} queued: the next run of {message.connection_id}__{message.flow} "
        "processes it again, with every check"
    )
    return EXIT_OK


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
