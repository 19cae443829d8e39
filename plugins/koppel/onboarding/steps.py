"""The steps of ``koppel new``: check, write, lint, pin and run the cases, print the plan.

Kept apart from :mod:`koppel.onboarding.command` so that registering the
command costs ``koppel``'s start-up nothing: this module loads pydantic
models, the format registry and the rules only when ``koppel new`` runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from koppel.config.connection import ConnectionConfig
from koppel.config.loader import load_connection
from koppel.config.problems import ConfigProblem, ConnectionFileError
from koppel.errors import KoppelError
from koppel.onboarding.new import (
    MerchantSettings,
    OnboardingError,
    Platform,
    default_name,
    parse_channels,
    parse_vars,
    read_platform,
    render_merchant,
    settings_problems,
)
from koppel.onboarding.plan import plan_for

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    """The options cannot make a merchant file; ``problems`` says why, one line each."""

    def __init__(self, problems: Sequence[str], platform: Platform | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
        self.platform = platform


def onboard(args: argparse.Namespace) -> int:
    """Write (or with ``--dry-run`` print) a new merchant's file, check it, print the plan."""
    from koppel.settings import connections_dir

    directory: Path = args.dir or connections_dir()
    try:
        settings, text, config = _prepare(args, directory)
    except _UsageError as exc:
        return _usage(exc.problems, exc.platform)
    path = directory / f"{settings.connection_id}.yaml"
    if args.dry_run:
        print(f"# {path} (dry run: nothing written)")
        print(text)
        _print_lines(plan_for(config).lines())
        return EXIT_OK
    try:
        with path.open("x", encoding="utf-8") as file:  # never overwrite, even in a race
            file.write(text)
    except FileExistsError:
        return _usage([f"--id {settings.connection_id!r}: {path} exists already; not overwritten"])
    print(f"wrote {path} (flows paused)")
    ok = _lint(directory, path)
    try:
        config = load_connection(path)
    except ConnectionFileError:
        ok = False  # lint has printed why; the plan comes from the file as checked before
    else:
        ok = _cases(directory, settings.connection_id) and ok
    print()
    _print_lines(plan_for(config).lines())
    return EXIT_OK if ok else EXIT_PROBLEMS


def _prepare(
    args: argparse.Namespace, directory: Path
) -> tuple[MerchantSettings, str, ConnectionConfig]:
    """The settings from the options, the file's text, and the connection it loads as.

    Raises:
        _UsageError: the folder, platform or an option is wrong, or the file the
            options give does not load; nothing has been written.
    """
    if not directory.is_dir():
        raise _UsageError([f"--dir: no such folder {directory}"])
    try:
        platform = read_platform(directory, args.platform)
        settings = MerchantSettings(
            connection_id=args.connection_id,
            name=args.name or default_name(args.connection_id, platform),
            prefix=args.prefix,
            relation_id=args.relation_id,
            channels=parse_channels(args.channels, args.prefix) if args.channels else {},
            vars=parse_vars(args.var),
            alert_emails=tuple(args.alert_email),
        )
    except OnboardingError as exc:
        raise _UsageError([str(exc)]) from exc
    problems = settings_problems(platform, settings, directory)
    if problems:
        raise _UsageError(problems, platform)
    text = render_merchant(platform, settings)
    try:
        config = _load_unwritten(text, directory, settings.connection_id)
    except ConnectionFileError as exc:
        raise _UsageError(
            [f"the options give an invalid file: {p.field}: {p.message}" for p in exc.problems]
        ) from exc
    return settings, text, config


def _usage(problems: Sequence[str], platform: Platform | None = None) -> int:
    """Print each problem on stderr (and what the platform needs); usage exit code."""
    for problem in problems:
        print(f"koppel new: {problem}", file=sys.stderr)
    if platform is not None:
        needed = ", ".join(r.option for r in platform.requirements) or "nothing beyond --id"
        print(
            f"koppel new: platform {platform.name} needs {needed}; ids look like "
            f"{platform.id_prefix}<name>",
            file=sys.stderr,
        )
    return EXIT_USAGE


def _load_unwritten(text: str, directory: Path, connection_id: str) -> ConnectionConfig:
    """Load the file's text with the real loader before anything is written.

    The file goes into a temporary folder under its own name (the id is the
    file name) and its templates are read from ``directory``, so a value the
    options made invalid is refused with nothing left behind.
    """
    with tempfile.TemporaryDirectory(prefix="koppel-new-") as folder:
        path = Path(folder) / f"{connection_id}.yaml"
        path.write_text(text, encoding="utf-8")
        return load_connection(path, templates_dir=directory)


def _lint(directory: Path, path: Path) -> bool:
    """``koppel lint``'s checks over the folder, reporting the new file's problems."""
    from koppel.config.lint import lint_paths
    from koppel.formats import default_registry
    from koppel.pipeline.rules import RULES

    problems: list[ConfigProblem] = [
        problem
        for problem in lint_paths(
            [directory], known_formats=set(default_registry().names()), known_rules=set(RULES)
        )
        if problem.file == str(path) or str(path) in problem.message
    ]
    for problem in problems:
        print(f"lint: {problem}")
    print("lint: ok" if not problems else f"lint: {len(problems)} problem(s)")
    return not problems


def _cases(directory: Path, connection_id: str) -> bool:
    """Pin the template's cases for the new merchant, then run them as ``koppel test`` does.

    The template's cases hold the input and what must hold for every merchant
    (``expect``); the outcome carries the merchant's own settings (prefix,
    origins), so it is pinned beside the merchant file first and then checked
    by a clean run. A case whose ``expect`` fails cannot be pinned: it fails.
    """
    from koppel.contract import CaseFileError, run_cases

    lines: list[str] = []
    try:
        with _engine_logs_kept_quiet():
            pinned = run_cases(directory, [connection_id], update=True, out=lines.append)
    except (CaseFileError, KoppelError) as exc:  # a broken case file of the template
        print(f"cases: cannot run them: {exc}")
        return False
    if not pinned.results:
        print(f"cases: none (the template has no cases; add {connection_id}.cases/)")
        return True
    print(f"cases: pinned {pinned.updated} outcome(s) in {directory / connection_id}.cases")
    _print_lines(f"  {line}" for line in lines if line.startswith(("updated ", "FAIL ")))
    with _engine_logs_kept_quiet():
        report = run_cases(directory, [connection_id], out=lambda line: print(f"  {line}"))
    print("cases: ok" if report.failed == 0 else f"cases: {report.failed} failed")
    return report.failed == 0


@contextmanager
def _engine_logs_kept_quiet() -> Iterator[None]:
    """Keep the engine's warnings ("message 1 held: ...") off the terminal while cases run.

    A case's held or rejected message is its expected outcome, reported in the
    case's own line; without any logging set up, Python would print each
    warning to stderr as well. Where logging is configured, it still gets them.
    """
    logger = logging.getLogger("koppel")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)
