"""Services: servers that run inside lab namespaces as supervised processes, their kinds and
their learner-editable settings. Imports nslab.engine, nslab.scenario, nslab.kernel and
nslab.errors; never checks, faults, labs, grading or the CLI."""
