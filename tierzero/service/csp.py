"""Content-Security-Policy violation reports the console's pages send (``/csp-report``)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

_log = logging.getLogger("tierzero.console")


class CspReports:
    """The latest Content-Security-Policy violation reports (at most ``keep``), logged too:
    a report means a page tried something the policy forbids, such as running a script."""

    def __init__(self, keep: int = 200) -> None:
        self._reports: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, report: dict[str, Any]) -> None:
        with self._lock:
            self._reports.append(report)
        _log.warning("content security policy violation: %s", str(report)[:500])

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._reports)
