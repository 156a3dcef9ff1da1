"""The LOGGING setting: runs' own lines on stderr, and every server error with its traceback.

A 500 is logged by Django on ``django.request`` with its traceback: to stderr, and to
``$RUNS_HOME/logs/runs.log`` (rotated at 10 MB, 5 kept), a file only its owner can read in a
folder only its owner can enter, since a traceback can show values from the request.
"""

from __future__ import annotations

import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

#: The log file's name under ``$RUNS_HOME/logs/``.
LOG_FILE_NAME = "runs.log"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose folder is 0700 and whose files are created 0600."""

    def __init__(self, filename: str, **kwargs) -> None:
        folder = Path(filename).parent
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        super().__init__(filename, **kwargs)

    def _open(self):
        # Created owner-only from the start (not chmod-ed afterwards), also on each rollover.
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(self.baseFilename, 0o600)  # a file left by an older version
        return os.fdopen(descriptor, self.mode, encoding=self.encoding, errors=self.errors)


def log_file(runs_home: Path) -> Path:
    """Where server errors are logged: ``$RUNS_HOME/logs/runs.log``."""
    return Path(runs_home) / "logs" / LOG_FILE_NAME


def logging_config(runs_home: Path) -> dict:
    """The LOGGING setting for a ``RUNS_HOME``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "server": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler"},
            "errors_console": {
                "class": "logging.StreamHandler",
                "level": "ERROR",
                "formatter": "server",
            },
            "errors_file": {
                "()": PrivateRotatingFileHandler,
                "filename": str(log_file(runs_home)),
                "maxBytes": 10 * 1024 * 1024,
                "backupCount": 5,
                "encoding": "utf-8",
                "delay": True,
                "level": "ERROR",
                "formatter": "server",
            },
        },
        "loggers": {
            "runs": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.request": {
                "handlers": ["errors_console", "errors_file"],
                "level": "ERROR",
                "propagate": False,
            },
        },
    }
