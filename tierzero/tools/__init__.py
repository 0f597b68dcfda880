"""Typed tool functions. Importing the package registers every tool in ``REGISTRY``."""

from tierzero.tools import enrichment as enrichment
from tierzero.tools import investigation as investigation
from tierzero.tools import similar as similar
from tierzero.tools.registry import REGISTRY as REGISTRY
