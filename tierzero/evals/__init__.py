"""The evaluation harness: labelled datasets, the isolated runner, metrics, reports, run
comparison, shadow replays of stored cases, and live operating metrics (docs/evaluation.md)."""
