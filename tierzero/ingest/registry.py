"""The adapters tierzero knows, by the name ``--source`` accepts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tierzero.ingest.adapters.crowdstrike import CrowdStrikeAdapter
from tierzero.ingest.adapters.defender import DefenderAdapter
from tierzero.ingest.adapters.elastic import ElasticAdapter
from tierzero.ingest.adapters.guardduty import GuardDutyAdapter
from tierzero.ingest.adapters.mapped import MappedAdapter
from tierzero.ingest.adapters.ocsf import OcsfAdapter
from tierzero.ingest.adapters.okta import OktaAdapter
from tierzero.ingest.adapters.sentinel import SentinelAdapter
from tierzero.ingest.adapters.suricata import SuricataAdapter
from tierzero.ingest.adapters.wazuh import WazuhAdapter
from tierzero.ingest.base import Adapter

MAPPED_SOURCE = "mapped"

ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (
        OcsfAdapter(),
        SentinelAdapter(),
        DefenderAdapter(),
        CrowdStrikeAdapter(),
        GuardDutyAdapter(),
        OktaAdapter(),
        ElasticAdapter(),
        WazuhAdapter(),
        SuricataAdapter(),
    )
}


@cache
def mapped_adapter(mapping_file: Path) -> MappedAdapter:
    """The generic adapter for one mapping file (loaded and validated once)."""
    return MappedAdapter.from_file(mapping_file)
