"""Typed tool functions. Importing the package registers every tool in ``REGISTRY``."""

from tierzero.tools import enrichment as enrichment  # noqa: F401  (registers the tools)
from tierzero.tools.registry import REGISTRY as REGISTRY
