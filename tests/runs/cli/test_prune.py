"""``runs prune``: ages a user can mistype are one-line errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "age", ["99999999d", "36501d", pytest.param("9" * 5000 + "s", id="5000-digits")]
)
def test_an_age_beyond_100_years_is_one_line_error_with_the_longest_allowed(age):
    done = subprocess.run(
        [sys.executable, "-m", "runs.cli", "prune", "--older-than", age, "--dry-run"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )

    assert done.returncode == 1
    assert done.stderr.strip().endswith("is too long an age; the longest is 36500d (100 years).")
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_age_of_100_years_is_accepted():
    from runs.services.prune import parse_age

    assert parse_age("36500d").days == 36500
    assert parse_age("5214w").days == 5214 * 7
