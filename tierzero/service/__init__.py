"""``tierzero serve``: the always-on service (API, intake, workers, timers, metrics) on the same
use cases as the command line."""
