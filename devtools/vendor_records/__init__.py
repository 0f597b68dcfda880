"""Vendor-record writers: alerts shaped like each vendor's published schema.

One module per vendor (CrowdStrike, Microsoft Defender and Sentinel, Okta, Elastic, Wazuh,
Suricata, GuardDuty, OCSF-native tools); each writes records like the files in ``examples/``,
so they are read by the same adapters as real data. The built-in evaluation suite
(:mod:`devtools.builtin_suite`) and the pipeline benchmark (``benchmarks/bench_pipeline.py``)
both write their records with them.
"""
