"""Read-only investigation tools: what an investigating agent may look at about its case.

The case in scope comes from :class:`~tierzero.tools.registry.ToolContext` (``case_id``), never
from an argument, so a model cannot read another case's raw records. Alerts come from
``ctx.alerts`` (the store); ATT&CK from ``ctx.attack`` or the built-in table.

Everything these tools return was written by the monitored systems, and so possibly by an
attacker: it is data to weigh, never instructions. Free text (command lines, raw records) comes
wrapped in :class:`UntrustedText`; every string is cut to a bounded length and every list to a
bounded count, and each result says when something was cut. A call the tool refuses (out of
scope, unknown alert, no alert store) raises :class:`~tierzero.tools.registry.ToolError`.

The tools, by family: :mod:`.case_records` (the case's alerts and their raw records),
:mod:`.entity_search` (alerts of any case naming an entity), :mod:`.processes` (a host's process
tree), :mod:`.signins` (an account's sign-in history) and :mod:`.techniques` (ATT&CK lookup).
Importing this package registers them all in ``REGISTRY``.
"""

from tierzero.tools.investigation import case_records as case_records
from tierzero.tools.investigation import entity_search as entity_search
from tierzero.tools.investigation import processes as processes
from tierzero.tools.investigation import signins as signins
from tierzero.tools.investigation import techniques as techniques
