"""Developer tools of the tierzero repository: run from a checkout, never installed.

The wheel packages only ``tierzero``; what is here writes data the package or the benchmarks
read (the built-in evaluation suite's JSON, benchmark alert streams).
"""
