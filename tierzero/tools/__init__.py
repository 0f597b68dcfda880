"""Typed tool functions. Importing the package registers every tool in ``REGISTRY``."""

from tierzero.tools import enrichment as enrichment
from tierzero.tools.registry import REGISTRY as REGISTRY
