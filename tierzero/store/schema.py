"""The embedded store's tables, and how values are kept in them (times as integer microseconds).

The LangGraph checkpointer keeps its own tables in the same file; the audit chain's table is
:data:`tierzero.store.audit.SCHEMA`.
"""

from __future__ import annotations

from datetime import UTC, datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_alert_id TEXT NOT NULL,
    source_file TEXT NOT NULL,
    record_no INTEGER NOT NULL,
    time_us INTEGER NOT NULL,
    severity_id INTEGER NOT NULL,
    detection_id TEXT NOT NULL,
    title TEXT NOT NULL,
    case_id TEXT,
    duplicate_of TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_unassigned ON alerts (time_us, id) WHERE case_id IS NULL;
CREATE INDEX IF NOT EXISTS alerts_case ON alerts (case_id, time_us);
CREATE INDEX IF NOT EXISTS alerts_placed ON alerts (time_us, id) WHERE case_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'new',
    verdict TEXT,
    priority TEXT,
    confidence REAL,
    title TEXT,
    first_seen_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    alert_count INTEGER NOT NULL DEFAULT 0,
    entities TEXT NOT NULL DEFAULT '[]',
    merged_into TEXT,
    dirty INTEGER NOT NULL DEFAULT 1,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    analysis TEXT
);
CREATE INDEX IF NOT EXISTS cases_open ON cases (last_seen_us) WHERE merged_into IS NULL;
CREATE TABLE IF NOT EXISTS joins (
    alert_id TEXT PRIMARY KEY REFERENCES alerts (id),
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    via TEXT NOT NULL,
    merged_case_ids TEXT NOT NULL,
    duplicate_of TEXT,
    gap_seconds REAL,
    explanation TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS joins_case ON joins (case_id);
-- One row per (distinct alert, host): how often a detection fires where, for baselines.
CREATE TABLE IF NOT EXISTS sightings (
    detection_id TEXT NOT NULL,
    host TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    case_id TEXT NOT NULL,
    alert_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sightings_lookup ON sightings (detection_id, host, time_us);
CREATE INDEX IF NOT EXISTS sightings_case ON sightings (case_id);
-- One row per (join key, alert): which alerts name an entity, for the investigation tools.
-- Keys are alert_entities() with no internal domains, so they never depend on configuration.
CREATE TABLE IF NOT EXISTS alert_entities (
    key TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    alert_id TEXT NOT NULL,
    PRIMARY KEY (key, time_us, alert_id)
) WITHOUT ROWID;
-- One row per proposed action of a case: its decision, and what became of it.
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    action_class TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    decided_at TEXT NOT NULL,
    executed_at TEXT,
    expires_at TEXT,
    result TEXT,
    rolled_back_by TEXT,
    rollback_reason TEXT,
    approval_due TEXT,
    reminded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS actions_case ON actions (case_id);
CREATE INDEX IF NOT EXISTS actions_kind ON actions (action, executed_at);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- An analyst's final disposition of a case (the latest; earlier ones stay in the audit).
CREATE TABLE IF NOT EXISTS resolutions (
    case_id TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    analyst TEXT NOT NULL,
    note TEXT NOT NULL,
    resolved_at TEXT NOT NULL
);
-- The analyst chat about a case, message by message (each one is also in the audit).
CREATE TABLE IF NOT EXISTS chat_messages (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    role TEXT NOT NULL,
    author TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_case ON chat_messages (case_id, id);
CREATE TABLE IF NOT EXISTS quarantine (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_file TEXT NOT NULL,
    record_no INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    raw_size INTEGER NOT NULL,
    raw_sha256 TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);
-- Routine identity-provider events refused as alerts (kept in the quarantine under the same
-- key) but read as their account's context: see store/identity_activity.py.
CREATE TABLE IF NOT EXISTS identity_activity (
    key TEXT PRIMARY KEY,
    user_key TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_activity_user ON identity_activity (user_key, time_us);
-- The service's answer to each pushed request that carried an idempotency key, so a retry
-- gets the same answer and stores nothing twice (see store/intake.py).
CREATE TABLE IF NOT EXISTS intake_requests (
    token TEXT NOT NULL,
    key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    response TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (token, key)
);
-- The service's outbound notifications: one row per (webhook, event), delivered with retries
-- (see store/notifications.py).
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    webhook TEXT NOT NULL,
    event TEXT NOT NULL,
    case_id TEXT,
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_at) WHERE status = 'queued';
-- The service's API tokens: only a SHA-256 of each token is kept (see store/tokens.py).
CREATE TABLE IF NOT EXISTS api_tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    person TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
-- Web console sessions: only a SHA-256 of each session id (see store/console_sessions.py).
CREATE TABLE IF NOT EXISTS console_sessions (
    session_sha256 TEXT PRIMARY KEY,
    token_name TEXT NOT NULL REFERENCES api_tokens (name),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""


def to_us(value: datetime) -> int:
    """A time as the tables keep it: integer microseconds since the epoch."""
    return int(value.timestamp() * 1_000_000)


def from_us(value: int) -> datetime:
    """The inverse of :func:`to_us` (a UTC datetime)."""
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)
