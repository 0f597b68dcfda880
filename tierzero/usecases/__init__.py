"""Use cases: the functions the command line and the service both call.

Each door (``tierzero.cli``, later ``tierzero serve``) parses its input, calls one function
here and renders the result; workflow logic lives here, never in a door. A request the use
case will not carry out raises :class:`~tierzero.usecases.errors.Refused` with the reason.

- :mod:`.triage`: the triage job (ingest files, correlate, analyse changed cases).
- :mod:`.analysis`: analyse one case as a new revision; a person's action request.
- :mod:`.approvals`: answer a pending approval; reminders and expiry (fail closed).
- :mod:`.actions`: roll an action back, end expired leases, the kill switch.
- :mod:`.cases`: case summaries and documents, resolutions, similar cases.
- :mod:`.audit`: verify the audit chain of a store or an export.
- :mod:`.chat`: open an analyst chat on a case.
- :mod:`.doctor`: which mode is active and whether it works.

Evaluation (``tierzero.evals.evaluate``) sits above these: it runs them scenario by scenario.
- :mod:`.runtime`: what they all run with (model choice, memory, graph session, connector).
"""
