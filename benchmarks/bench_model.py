"""The configured model endpoint on real work: the bundled examples and a slice of the suite.

Needs an endpoint (``OPENAI_BASE_URL``, ``TIERZERO_MODEL``; see the README's "Run with a local
model"). For the bundled examples it triages twice in fresh stores, once with the model and
once with the offline analyst alone, and reports per case:

- latency (the model calls' wall time), calls, prompt and completion tokens (the server's
  usage when it reports it, else tierzero's count);
- tool calls made, how they came (native ``tool_calls`` or written as text), tool errors;
- whether the model gave a valid conclusion (else it abstained, and why);
- agreement with the offline analyst (attack / no attack), the final verdict and status, and
  the actions executed with and without the model (a failing model must cost none).

Then it runs ``--suite N`` scenarios of the built-in suite (spread over its categories) with
the ``llm`` agent and the offline one, and reports verdict accuracy against the suite's truth
for both, and the valid-conclusion rate.

    python benchmarks/bench_model.py [--suite 6] [--no-write]

Results are printed and written to ``benchmarks/results/<UTC time>-model-<host>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from tierzero.agents.model_recommender import MODEL_PREFIX  # noqa: E402
from tierzero.agents.state import CaseState  # noqa: E402
from tierzero.evals.dataset import load_dataset  # noqa: E402
from tierzero.evals.metrics import score  # noqa: E402
from tierzero.evals.runner import run_dataset  # noqa: E402
from tierzero.settings import Settings  # noqa: E402
from tierzero.settings.model import endpoint_from_env  # noqa: E402
from tierzero.store.sqlite import Store  # noqa: E402
from tierzero.usecases.triage import triage  # noqa: E402

EXAMPLES = REPO / "examples"
ATTACK = {"true_positive": "attack", "benign_positive": "none", "false_positive": "none"}


def _triage(
    folder: Path, settings: Settings, model: Any, name: str
) -> tuple[dict[str, CaseState], Store]:
    store = Store(folder / f"{name}.db")
    report = triage([EXAMPLES], settings, store, model=model, memory=None)
    return {s.case_id: s for s in report.cases_analysed}, store


def _model_calls(store: Store, case_id: str) -> dict[str, Any]:
    """Calls, seconds and tokens of a case's model calls, from the audit."""
    out: dict[str, Any] = {"calls": 0, "seconds": 0.0, "prompt_tokens": 0, "completion_tokens": 0}
    formats: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for record in store.audit_records(case_id):
        if record["kind"] != "model_call":
            continue
        p = record["payload"]
        if p["phase"] == "response":
            usage = p.get("usage") or {}
            out["calls"] += 1
            out["seconds"] += p.get("seconds") or 0.0
            out["prompt_tokens"] += usage.get("prompt_tokens") or p.get("prompt_tokens") or 0
            out["completion_tokens"] += (
                usage.get("completion_tokens") or usage.get("counted_completion_tokens") or 0
            )
            if p.get("tool_call_format"):
                formats[p["tool_call_format"]] += len(p.get("tool_calls") or ())
        elif p["phase"] in ("error", "refused"):
            out["calls"] += p["phase"] == "error"
            out["seconds"] += p.get("seconds") or 0.0
            errors[p.get("error") or p.get("budget") or "?"] += 1
    out["seconds"] = round(out["seconds"], 1)
    out["tool_call_format"] = dict(formats)
    out["errors"] = dict(errors)
    return out


def _executed(store: Store, case_id: str) -> list[str]:
    return sorted(
        f"{r.action} {r.target}" for r in store.actions.rows(case_id) if r.status == "executed"
    )


def examples(settings: Settings, model: Any = "env") -> list[dict[str, Any]]:
    """Per case of the bundled examples: the model's work against the offline analyst's
    (``model``: the configured endpoint, or a client such as a cassette's replay)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        offline, off_store = _triage(Path(folder), settings, "off", "offline")
        started = time.perf_counter()
        with_model, store = _triage(Path(folder), settings, model, "model")
        total = time.perf_counter() - started
        for case_id, state in sorted(with_model.items(), key=lambda kv: int(kv[0][2:])):
            base = offline[case_id]
            mine = next((o for o in state.opinions if o.analyst.startswith(MODEL_PREFIX)), None)
            analysis = state.analysis
            reason = analysis.rationale[0] if analysis and mine is None else None
            inv = state.investigation
            rows.append(
                {
                    "case": case_id,
                    **_model_calls(store, case_id),
                    "investigated": inv is not None,
                    "tool_calls": inv.tool_calls if inv else 0,
                    "tool_errors": inv.tool_errors if inv else 0,
                    "valid_conclusion": mine is not None,
                    "abstained": reason[:200] if reason and "abstained" in reason else None,
                    "model_verdict": mine.verdict if mine else None,
                    "offline_verdict": base.analysis.verdict if base.analysis else None,
                    "agrees": (
                        ATTACK.get(mine.verdict) == ATTACK.get(base.analysis.verdict)
                        if mine and base.analysis
                        else None
                    ),
                    "verdict": analysis.verdict if analysis else None,
                    "status": state.status,
                    "offline_status": base.status,
                    "executed": _executed(store, case_id),
                    "offline_executed": _executed(off_store, case_id),
                }
            )
        store.close()
        off_store.close()
    print(f"examples: {len(rows)} cases in {total:.0f} s with the model")
    return rows


def suite(settings: Settings, count: int) -> dict[str, Any]:
    """Verdict accuracy on ``count`` built-in scenarios spread over the suite, with the model
    and with the offline analyst alone."""
    data = load_dataset("builtin")
    step = max(1, len(data.scenarios) // max(count, 1))
    chosen = {s.id for s in data.scenarios[::step][:count]}
    picked = data.model_copy(
        update={"scenarios": tuple(s for s in data.scenarios if s.id in chosen)}
    )
    out: dict[str, Any] = {"scenarios": sorted(chosen)}
    for agent in ("offline", "llm"):
        started = time.perf_counter()
        run = run_dataset(picked, settings, agent=agent)  # type: ignore[arg-type]
        metrics = score(picked.scenarios, run.outcomes)["metrics"]
        cases = [c for o in run.outcomes for c in o["cases"]]
        out[agent] = {
            "seconds": round(time.perf_counter() - started, 1),
            "verdict_accuracy": metrics["verdict"]["accuracy"],
            "macro_f1": metrics["verdict"]["macro_f1"],
            "model_calls": sum(c.get("model_calls") or 0 for c in cases),
            "tokens": sum(c.get("tokens") or 0 for c in cases),
            "cases": len(cases),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=int, default=6, help="built-in scenarios (0: none)")
    parser.add_argument("--no-write", action="store_true", help="do not write a results file")
    args = parser.parse_args()
    settings = Settings.load()
    endpoint = endpoint_from_env(settings.model)
    if endpoint is None:
        sys.exit(
            "bench_model: no model endpoint is configured. Set OPENAI_BASE_URL (and "
            "TIERZERO_MODEL) as in the README's 'Run with a local model'."
        )
    print(f"model {endpoint.model} at {endpoint.display_url}")
    result: dict[str, Any] = {
        "benchmark": "model",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "model": endpoint.model,
        "endpoint": endpoint.display_url,
        "config": settings.model.model_dump(
            include={"timeout_seconds", "deadline_seconds", "context_window", "temperature"}
        ),
        "examples": examples(settings),
    }
    rows = result["examples"]
    for row in rows:
        print(
            f"  {row['case']}: {row['seconds']:7.1f} s  {row['calls']:2d} calls  "
            f"{row['prompt_tokens']:6d}+{row['completion_tokens']:5d} tok  "
            f"tools {row['tool_calls']:2d} {row['tool_call_format']} err {row['tool_errors']}  "
            f"valid {row['valid_conclusion']!s:5}  agrees {row['agrees']!s:5}  "
            f"{row['offline_verdict']} -> {row['verdict']} ({row['status']}; offline "
            f"{row['offline_status']})  executed {len(row['executed'])}/"
            f"{len(row['offline_executed'])}"
        )
    asked = [r for r in rows if r["investigated"]]
    if asked:
        valid = sum(r["valid_conclusion"] for r in asked)
        print(f"valid conclusions {valid}/{len(asked)}")
    if args.suite:
        result["suite"] = suite(settings, args.suite)
        print(json.dumps(result["suite"], indent=2))
    if not args.no_write:
        folder = REPO / "benchmarks" / "results"
        folder.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"{stamp}-model-{socket.gethostname()}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {path}")


if __name__ == "__main__":
    main()
