"""Every command line README.md shows runs, as written, with its placeholders filled.

The README is parsed (shell blocks, the Commands table, inline code in prose starting with
``tierzero ``); each template is expanded once with its optional parts left out and once with
all of them in (first alternative of each choice, plus every alternative of the choices named
in EVERY_ALTERNATIVE), its placeholders are filled from PLACEHOLDERS, and it is run as
``python -m tierzero ...`` in a working folder holding one demo store (``examples/`` triaged
once), with no model endpoint in the environment. Each must exit as the README says, and the
output blocks the README quotes must appear in the output of the command they belong to.

A command the README shows that cannot be parsed or filled fails the test, naming it: a new
command in the README needs a line in the tables below.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devtools.loopback import free_port
from tests.integration.readme_commands import (
    PLACEHOLDER,
    Readme,
    Shown,
    TemplateError,
    Variant,
    command_words,
    missing_lines,
    parse_readme,
    variants,
)

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

# The README's first block holds the two commands a newcomer types and .ci/run runs itself
# from a fresh clone (venv + install + demo; venv + install + pytest). They are excluded here by
# position; the demo store below is built by the `tierzero ...` part of the first one.
CI_COMMANDS = {(0, 0), (0, 1)}
# The README's curl lines (Run as a service), run by test_service_process.py.
CURL_LINES = tuple(
    line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("curl ")
)
# Other shell lines that are not tierzero commands, and why they are not run.
NOT_RUN = {
    "export OPENAI_BASE_URL=http://localhost:11434/v1 TIERZERO_MODEL=llama3.1": (
        "points tierzero at a model server; tests never reach the network"
    ),
    "export OPENAI_BASE_URL=http://127.0.0.1:8081/v1"
    " TIERZERO_MODEL=qwen2.5-coder-1.5b-instruct-q4_k_m": (
        "points tierzero at a local model server; tests never reach it"
    ),
    "export TIERZERO_MODEL_CONTEXT=8192 TIERZERO_MODEL_TIMEOUT=900 TIERZERO_MODEL_DEADLINE=1800": (
        "model settings for that server (test_model_layer checks the variables)"
    ),
    # Run as a service: test_service_process.py serves the demo store and runs these exact
    # lines against it (with the port it chose), as test_the_readme_curl_lines.
    **dict.fromkeys(CURL_LINES, "test_service_process.py::test_the_readme_curl_lines"),
    # Development: the checks .ci/run runs itself, in the venv it created.
    ". .venv/bin/activate": ".ci/run",
    "ruff check .": ".ci/run",
    "ruff format --check .": ".ci/run",
    "mypy tierzero": ".ci/run",
    "python -m pytest": ".ci/run (and this test is part of it)",
}

SCENARIO = "approved-scanner-sweep-01"  # one built-in scenario keeps an evaluation fast
CATEGORY = "benign_lookalike"  # ... and the category it belongs to


def forced_options(argv: tuple[str, ...]) -> tuple[str, ...]:
    """What is added to a README line: an evaluation (`eval DATASET`, `eval run DATASET`; not
    `eval compare`, nor `eval replay`, which reads its own file) gets `--scenario SCENARIO` when it
    has none (the suite takes minutes)."""
    if argv[1] == "eval" and argv[2] not in ("compare", "replay") and "--scenario" not in argv:
        return ("--scenario", SCENARIO)
    return ()


# Choices of which every alternative is run (the others: only the first one). `--source` and
# `--agent` take their first (auto, offline): the other sources need other inputs and `llm` a
# model endpoint.
EVERY_ALTERNATIVE = frozenset({"on|off", "--db PATH | --file F"})


@dataclass
class Run:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Demo:
    """The working folder of all the README's commands and what has run in it."""

    folder: Path
    tierzero: Tierzero
    triage: Run
    pending: list[int]  # pending approvals of C-4, in id order
    executed: list[int]  # executed actions of C-4, in id order
    runs: dict[tuple[tuple[str, ...], str], Run] = field(default_factory=dict)
    token_names: list[str] = field(default_factory=list)  # made by `tokens create` lines

    def run(self, argv: tuple[str, ...], stdin: str = "") -> Run:
        key = (argv, stdin)
        if key not in self.runs:  # the same line shown twice runs once
            serving = argv[:2] == ("tierzero", "serve")
            run = serve_briefly(self, argv) if serving else self.tierzero(argv, stdin)
            self.runs[key] = run
        return self.runs[key]


def serve_briefly(demo: Demo, argv: tuple[str, ...]) -> Run:
    """`tierzero serve ...` as written, on a free port instead of the one shown: it must come
    up healthy on the demo store and stop cleanly on SIGTERM."""
    port = free_port()
    words = list(argv)
    if "--port" in words:
        words[words.index("--port") + 1] = str(port)
    else:
        words += ["--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tierzero", *words[1:]],
        cwd=demo.folder,
        env=demo.tierzero.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    healthy = False
    deadline = time.monotonic() + 90
    while process.poll() is None and time.monotonic() < deadline and not healthy:
        try:
            healthy = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    clean = process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
    code = 0 if healthy and clean else 1
    return Run(argv, code, output, "" if code == 0 else f"healthy={healthy}\n{output}")


def new_token_name(demo: Demo) -> str:
    demo.token_names.append(f"edr-{len(demo.token_names) + 1}")
    return demo.token_names[-1]


def pop_first(kind: str, ids: list[int]) -> str:
    if not ids:
        raise LookupError(f"no more {kind} actions in the demo store")
    return str(ids.pop(0))


def export_file(demo: Demo) -> str:
    exports = [
        run for (argv, _), run in demo.runs.items() if argv[:3] == ("tierzero", "audit", "export")
    ]
    if not exports:
        raise LookupError("`audit export` has not run before `audit verify --file`")
    path = demo.folder / "audit-export.jsonl"
    path.write_text(exports[0].stdout)
    return path.name


def default_eval_report(demo: Demo) -> str:
    reports = sorted((demo.folder / "tierzero-eval").glob("*/report.json"))
    if not reports:
        raise LookupError("no `eval run` without --out has written a report")
    return str(reports[0].parent.relative_to(demo.folder))


def witness_file(demo: Demo) -> str:
    heads = [
        argv[-1] for argv, _ in demo.runs if argv[:4] == ("tierzero", "audit", "head", "--out")
    ]
    if not heads:
        raise LookupError("`audit head --out FILE` has not run before `audit verify --witness`")
    return heads[0]


def replay_data(demo: Demo) -> Path:
    """A small labelled file for `eval replay` (written once): see test_eval_replay.py."""
    from tests.integration.test_eval_replay import labelled

    folder = demo.folder / "replay-data"
    if not (folder / "labelled.csv").is_file():
        folder.mkdir(exist_ok=True)
        labelled(folder)
    return folder


def new_rule(demo: Demo) -> str:
    """A fresh proposed suppression in the demo store (each line answers its own), as if
    Ana's verdicts had taught it."""
    from tierzero.store.sqlite import Store

    store = Store(demo.folder / ".tierzero" / "tierzero.db")
    try:
        now = datetime.now(UTC)
        number = len(store.suppressions()) + 1
        evidence = {
            "verdicts": 3,
            "case_count": 1,
            "cases": ["C-1"],
            "people": ["ana"],
            "days": ["2026-11-01", "2026-11-02"],
            "hosts": ["web-01"],
        }
        rule = store.propose_suppression(
            f"readme:D-{number}", "web-01", 2, evidence, now, now + timedelta(days=7)
        )
        assert rule is not None
        return f"S-{rule.id}"
    finally:
        store.close()


# Placeholder -> value. The key is "OPTION PLACEHOLDER" for an option's value, else
# "SUB COMMAND PLACEHOLDER" for a positional one. A callable is asked when the line runs.
Value = str | Callable[[Demo], str]
PLACEHOLDERS: dict[str, Value] = {
    "triage PATH...": "examples",
    "normalize PATH...": "examples",
    "--mapping FILE": "examples/proxy_export.mapping.yaml",
    "--db PATH": ".tierzero/tierzero.db",  # the default, written out
    "--config DIR": "config",  # a copy of the repository's config/
    "--as NAME": "sam",  # an approver who is not the requester
    "--reason ...": "checked by the README test",
    "--note TEXT": "checked by the README test",
    "--case ID": "C-4",
    "cases show ID": "C-4",
    "cases similar ID": "C-4",
    "--k N": "3",
    "cases resolve ID": "C-5",
    "chat CASE": "C-4",
    "-m TEXT": "summary",
    "audit show CASE": "C-4",
    "--file F": export_file,  # what `audit export` printed
    "--out FILE": "audit-head.json",
    "--witness FILE": witness_file,  # what `audit head --out` wrote
    "approvals approve ID": lambda demo: pop_first("pending", demo.pending),
    "approvals deny ID": lambda demo: pop_first("pending", demo.pending),
    "actions rollback ID": lambda demo: pop_first("executed", demo.executed),
    "eval DATASET": "builtin",  # `eval DATASET` is short for `eval run DATASET`
    "eval run DATASET": "builtin",
    "--policy FILE": "config/policy.yaml",  # the bundled policy as the "candidate"
    "--out DIR": "eval-full",
    "--category C": CATEGORY,
    "--scenario ID": SCENARIO,
    "--write-precision FILE": "precision.yaml",
    "eval compare A": "eval-full",
    "eval compare B": default_eval_report,
    "--threshold METRIC=VALUE": "verdict.macro_f1=0.01",
    "--policy NEW.yaml": "config/policy.yaml",
    "--playbooks DIR": "config/playbooks",
    "--limit N": "3",
    "--since DATE": "2026-11-01",
    "--role ROLE": "ingest",
    "--name NAME": lambda demo: new_token_name(demo),  # names are never reused
    "--person NAME": "dana",
    "tokens revoke NAME": lambda demo: demo.token_names[0],
    "--host ADDR": "127.0.0.1",
    "--port N": "8080",  # replaced by a free port when the service starts (see serve_briefly)
    "--reports DIR": "tierzero-eval",
    "eval replay CSV...": lambda demo: str(replay_data(demo) / "labelled.csv"),
    "--mapping MAPPING": lambda demo: str(replay_data(demo) / "mapping.yaml"),
    "--label-column COL": "label",
    "--benign-label V": "false_positive",
    "--drop-column C": "label",
    "--step PT1H": "PT1H",
    "--resolve-after PT4H": "PT4H",
    "--out FOLDER": "replay-report",
    "suppressions show RULE": new_rule,
    "suppressions approve RULE": new_rule,
    "suppressions reject RULE": new_rule,
    "suppressions expire RULE": new_rule,
}

# Commands that only read: run side by side before the others. All the others run one at a
# time in README order, `autonomy` last (its `off` would send the rest to approval).
READ_ONLY = {
    ("tierzero", "cases", "list"),
    ("tierzero", "cases", "show"),
    ("tierzero", "quarantine", "list"),
    ("tierzero", "audit", "show"),
    ("tierzero", "audit", "export"),
    ("tierzero", "approvals", "list"),
    ("tierzero", "actions", "list"),
    ("tierzero", "doctor"),
    ("tierzero", "metrics"),
    ("tierzero", "shadow"),
}
LAST = {("tierzero", "autonomy")}

# The README's quoted output blocks, by their first line, and the command they show: "CI" is the
# demo command of the first README line.
OUTPUTS = {
    "Read 12 files:": "CI",
    "you> what happened on SRV-FS-01?": "tierzero chat C-4 --as dana",
}
CHAT_PROMPT = "you> "


class Tierzero:
    """Runs `python -m tierzero ARGV` in the demo folder, each command in its own process.

    By default through readme_zygote.py, which imports the package once and forks per command
    (with runpy, as `-m` does); TIERZERO_README_SUBPROCESS=1 (or no os.fork) starts a fresh
    `sys.executable -m tierzero` for each instead (slower: ~2 s of imports per command).
    """

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.lock = threading.Lock()
        self.count = 0
        self.zygote: subprocess.Popen[str] | None = None
        if hasattr(os, "fork") and os.environ.get("TIERZERO_README_SUBPROCESS") != "1":
            self.zygote = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("readme_zygote.py"))],
                cwd=folder,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

    def __call__(self, argv: tuple[str, ...], stdin: str = "") -> Run:
        assert argv[0] == "tierzero"
        if self.zygote is None:
            done = subprocess.run(
                [sys.executable, "-m", "tierzero", *argv[1:]],
                cwd=self.folder,
                env=self.env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=300,
            )
            return Run(argv, done.returncode, done.stdout, done.stderr)
        with self.lock:
            self.count += 1
            files = {
                name: self.folder / ".readme-runs" / f"{self.count}.{name}"
                for name in ("stdin", "stdout", "stderr")
            }
            files["stdin"].parent.mkdir(exist_ok=True)
            files["stdin"].write_text(stdin, encoding="utf-8")
            for name in ("stdout", "stderr"):
                files[name].touch()
            assert self.zygote.stdin is not None and self.zygote.stdout is not None
            request = {"argv": list(argv[1:]), **{k: str(v) for k, v in files.items()}}
            self.zygote.stdin.write(json.dumps(request) + "\n")
            self.zygote.stdin.flush()
            answer = self.zygote.stdout.readline()
            assert answer, f"the zygote died running {argv}"
            return Run(
                argv,
                json.loads(answer)["returncode"],
                files["stdout"].read_text(encoding="utf-8"),
                files["stderr"].read_text(encoding="utf-8"),
            )

    def close(self) -> None:
        if self.zygote is not None:
            assert self.zygote.stdin is not None
            self.zygote.stdin.close()
            self.zygote.wait(timeout=60)


def readme() -> Readme:
    return parse_readme(README.read_text(encoding="utf-8"))


def ci_demo_command(parsed: Readme) -> tuple[str, ...]:
    first = next(c for c in parsed.commands if (c.block, c.position) == (0, 0))
    return tuple(first.text.split(" && ")[-1].split())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "examples", folder / "examples")
    shutil.copytree(REPO / "config", folder / "config")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OPENAI_")
        and name not in ("TIERZERO_MODEL", "TIERZERO_LLM", "TIERZERO_CONFIG")
    }
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *paths])  # this checkout's tierzero
    env["COLUMNS"] = "130"  # a stable table layout; the quoted lines allow any wrapping
    env["NO_COLOR"] = "1"
    argv = ci_demo_command(readme())
    assert argv[:2] == ("tierzero", "triage"), argv
    tierzero = Tierzero(folder, env)
    triage = tierzero(argv)
    assert triage.returncode == 0, triage.stderr
    listed = tierzero(("tierzero", "actions", "list", "--case", "C-4", "--json"))
    assert listed.returncode == 0, listed.stderr
    actions = sorted(json.loads(listed.stdout), key=lambda a: a["id"])
    result = Demo(
        folder,
        tierzero,
        triage,
        pending=[a["id"] for a in actions if a["status"] == "pending_approval"],
        executed=[a["id"] for a in actions if a["status"] == "executed"],
    )
    result.runs[(argv, "")] = triage
    result.runs[(listed.argv, "")] = listed
    yield result
    tierzero.close()


# --- planning: README line -> filled command lines -------------------------------------------


@dataclass
class Planned:
    shown: Shown
    variant: Variant
    words: tuple[str, ...]
    stdin: str = ""
    expected: tuple[str, ...] = ()  # quoted output lines

    def describe(self) -> str:
        return f"README.md:{self.shown.line} `{self.shown.text}` ({self.variant.name})"


def key_of(words: tuple[str, ...], option: str, token: str) -> str:
    return f"{option} {token}" if option else " ".join((*words[1:], token))


def chat_transcript(lines: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    asked = [line[len(CHAT_PROMPT) :] for line in lines if line.startswith(CHAT_PROMPT)]
    answers = tuple(line for line in lines if not line.startswith(CHAT_PROMPT))
    return "\n".join([*asked, "/quit"]) + "\n", answers


def plan(parsed: Readme) -> tuple[list[Planned], list[str]]:
    """Every README command line, expanded; and the problems found on the way."""
    problems: list[str] = []
    templates = [c for c in parsed.commands if c.where == "table"]
    table_words = {command_words(c.text) for c in templates}
    outputs = {}
    for block in parsed.outputs:
        head = block.lines[0] if block.lines else ""
        owner = next((cmd for start, cmd in OUTPUTS.items() if head.startswith(start)), None)
        if owner is None:
            problems.append(f"README.md:{block.line}: quoted output of no known command: {head}")
        elif owner != "CI":
            outputs[owner] = block.lines
    planned: list[Planned] = []
    for shown in parsed.commands:
        if (shown.block, shown.position) in CI_COMMANDS:
            continue  # run by .ci/run itself, see CI_COMMANDS
        if shown.where == "fence" and shown.text in NOT_RUN:
            continue
        if not shown.text.startswith("tierzero "):
            problems.append(f"README.md:{shown.line}: not a tierzero command: {shown.text}")
            continue
        words = command_words(shown.text)
        if shown.where != "table" and words == tuple(shown.text.split()) and words in table_words:
            continue  # names a command of the Commands table (`tierzero shadow`): run there
        try:
            expanded = variants(shown.text, EVERY_ALTERNATIVE)
        except TemplateError as error:
            problems.append(f"README.md:{shown.line}: cannot parse `{shown.text}`: {error}")
            continue
        for variant in expanded:
            unknown = [
                key_of(words, option, token)
                for token, option in variant.tokens
                if PLACEHOLDER.match(token) and key_of(words, option, token) not in PLACEHOLDERS
            ]
            if unknown:
                problems.append(
                    f"README.md:{shown.line}: no value for {', '.join(unknown)} in "
                    f"`{shown.text}`: add it to PLACEHOLDERS"
                )
                continue
            item = Planned(shown, variant, words)
            if shown.text in outputs:
                item.stdin, item.expected = chat_transcript(outputs[shown.text])
            elif words == ("tierzero", "chat") and "-m" not in shown.text:
                item.stdin = "/quit\n"
            planned.append(item)
    missing = set(OUTPUTS.values()) - {"CI"} - {p.shown.text for p in planned}
    problems += [f"OUTPUTS names `{text}`, which the README does not show" for text in missing]
    return planned, list(dict.fromkeys(problems))


def fill(item: Planned, demo: Demo) -> tuple[str, ...]:
    argv = []
    for token, option in item.variant.tokens:
        if PLACEHOLDER.match(token):
            value = PLACEHOLDERS[key_of(item.words, option, token)]
            argv.append(value(demo) if callable(value) else value)
        else:
            argv.append(token)
    return (*argv, *forced_options(tuple(argv)))


def check(item: Planned, demo: Demo) -> str | None:
    """Run one planned line; a problem, or None."""
    try:
        argv = fill(item, demo)
    except LookupError as error:
        return f"{item.describe()}: cannot fill: {error}"
    run = demo.run(argv, item.stdin)
    shown = " ".join(argv)
    if run.returncode != 0:
        tail = (run.stderr or run.stdout)[-1500:]
        return f"{item.describe()}: `{shown}` exited {run.returncode}:\n{tail}"
    if "--json" in argv:
        try:
            json.loads(run.stdout)
        except ValueError as error:
            return f"{item.describe()}: `{shown}` --json printed no JSON ({error})"
    missing = missing_lines(list(item.expected), run.stdout)
    if missing:
        return (
            f"{item.describe()}: the output the README quotes is not what `{shown}` prints; "
            "missing:\n  " + "\n  ".join(missing) + f"\noutput:\n{run.stdout}"
        )
    return None


# --- the tests ---------------------------------------------------------------------------------


def test_every_readme_command_is_understood() -> None:
    parsed = readme()
    first_block = parsed.fences[0][2]
    assert len(first_block) == 2 and "tierzero triage" in first_block[0], first_block
    assert "pytest" in first_block[1], first_block
    planned, problems = plan(parsed)
    assert not problems, "\n".join(problems)
    assert len(planned) > 20, "the README parser found too few commands"


def test_triage_summary_is_as_quoted(demo: Demo) -> None:
    parsed = readme()
    block = next(b for b in parsed.outputs if b.lines and b.lines[0].startswith("Read 12 files:"))
    missing = missing_lines(list(block.lines), demo.triage.stdout)
    assert not missing, (
        f"README.md:{block.line}: the quoted triage summary differs from `tierzero triage "
        "examples`; missing:\n  " + "\n  ".join(missing) + f"\noutput:\n{demo.triage.stdout}"
    )


@pytest.mark.loopback  # `tierzero serve` is started, and asked for /health, on 127.0.0.1
def test_every_readme_command_runs(demo: Demo) -> None:
    planned, problems = plan(readme())
    assert not problems, "\n".join(problems)
    reads = [p for p in planned if p.words[:3] in READ_ONLY or p.words[:2] in READ_ONLY]
    last = [p for p in planned if p.words[:2] in LAST]
    writes = [p for p in planned if p not in reads and p not in last]
    failures: list[str] = []
    failures += [f for f in (check(item, demo) for item in reads) if f]
    failures += [f for f in (check(item, demo) for item in writes + last) if f]
    assert not failures, "\n\n".join(failures)
    assert [argv for argv, _ in demo.runs if argv[:2] == ("tierzero", "serve")]


def test_audit_verify_fails_on_a_tampered_export(demo: Demo) -> None:
    """`audit verify --file F` exits 1 naming the first bad record (README, Commands)."""
    lines = demo.run(("tierzero", "audit", "export")).stdout.splitlines()
    assert len(lines) > 12
    del lines[10]
    (demo.folder / "tampered.jsonl").write_text("\n".join(lines) + "\n")
    run = demo.run(("tierzero", "audit", "verify", "--file", "tampered.jsonl"))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "record" in run.stdout + run.stderr
