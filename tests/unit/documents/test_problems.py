"""Capping the problems stored per message: the first ones kept, the rest counted."""

from __future__ import annotations

import pytest

from koppel.documents import TRUNCATED, Problem, Severity, cap_problems, has_errors


def _problems(
    count: int, severity: Severity = Severity.ERROR, code: str = "xsd.invalid"
) -> list[Problem]:
    return [
        Problem(code=code, message=f"problem {n}", severity=severity, file="f.xml", line=n)
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("count", [0, 1, 100])
def test_up_to_the_limit_every_problem_is_kept_as_it_was(count: int) -> None:
    problems = _problems(count)
    assert cap_problems(problems) == problems


def test_beyond_the_limit_the_first_are_kept_in_order_and_the_rest_counted() -> None:
    problems = _problems(8000)
    capped = cap_problems(problems)
    assert capped[:100] == problems[:100]
    assert len(capped) == 101
    summary = capped[100]
    assert (summary.code, summary.severity, summary.file, summary.line) == (
        TRUNCATED,
        Severity.ERROR,
        "f.xml",
        None,
    )
    assert summary.message == (
        "… and 7,900 more problems were not stored (7,900 xsd.invalid); only the first 100 are kept"
    )


def test_the_summary_has_the_severity_of_the_worst_problem_left_out() -> None:
    problems = _problems(3, Severity.INFO) + _problems(1, Severity.WARNING, "rule.a")
    (summary,) = cap_problems(problems, limit=2)[2:]
    assert summary.severity is Severity.WARNING
    assert "2 more problems" in summary.message
    assert "1 xsd.invalid, 1 rule.a" in summary.message


def test_a_rejection_stays_a_rejection_when_its_errors_are_left_out() -> None:
    problems = _problems(5, Severity.WARNING) + _problems(1, Severity.ERROR, "rule.b")
    capped = cap_problems(problems, limit=5)
    assert not has_errors(capped[:5])
    assert has_errors(capped)


def test_problems_of_several_files_give_a_summary_without_a_file() -> None:
    problems = [*_problems(2), Problem(code="x", message="m", file="other.xml")]
    (summary,) = cap_problems(problems, limit=1)[1:]
    assert summary.file is None


def test_capping_twice_keeps_every_count() -> None:
    once = cap_problems(_problems(150))
    assert cap_problems(once) == once
    more = cap_problems(once + _problems(3, code="rule.c"))
    assert more[:100] == once[:100]
    assert [p.code for p in more[100:]] == [TRUNCATED, TRUNCATED]
    assert "50 xsd.invalid" in more[100].message
    assert "3 rule.c" in more[101].message
