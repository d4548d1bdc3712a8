"""The engine: turn a model into a live lab and back.

plan (pure: namespaces, interface indexes, netlink messages) -> build (journal first, then the
kernel, rollback on failure) -> teardown (from the journal or by ownership marker); the lab
state directory, per-node /etc files, names and markers, status and doctor. Imports
nslab.scenario, nslab.kernel and nslab.errors; never services, checks, faults or grading (the
build is handed a service starter by the layer above)."""
