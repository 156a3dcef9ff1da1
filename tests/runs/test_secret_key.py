"""The generated secret key: owner-only from its creation, made once even by racing processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from runs.secret_key import SecretKeyError, read_or_create_secret_key
from tests.workers import REPO_ROOT

#: Waits for the start file (so that every process creates at the same moment), then prints
#: the key it got.
RACER = """
import os, sys
from runs.secret_key import read_or_create_secret_key
while not os.path.exists(sys.argv[1]):
    pass
print(read_or_create_secret_key(sys.argv[2]))
"""


def test_the_key_is_created_owner_only_whatever_the_umask(tmp_path):
    path = tmp_path / "secret_key"
    previous = os.umask(0)
    try:
        key = read_or_create_secret_key(path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 50
    assert read_or_create_secret_key(path) == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary file left


def test_processes_creating_it_together_all_get_the_winners_key(tmp_path):
    start, path = tmp_path / "go", tmp_path / "secret_key"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(start), str(path)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            umask=0o022,
        )
        for _ in range(8)
    ]
    start.touch()
    keys = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert keys == {path.read_text().strip()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "secret_key"]


def test_an_empty_key_file_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("\n")
    with pytest.raises(SecretKeyError, match="Delete it to have a new key generated"):
        read_or_create_secret_key(path)


def test_the_settings_use_the_key_kept_under_runs_home():
    from django.conf import settings

    from runs import conf

    if conf.settings.RUNS_SECRET_KEY:
        pytest.skip("RUNS_SECRET_KEY is set: no key file")
    path = conf.settings.RUNS_HOME / "secret_key"
    assert settings.SECRET_KEY == path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
