"""Checks: the kinds of expectation a scenario can declare and the live probes that observe
them (in-process, one thread per probe inside the node's namespace). Imports nslab.engine,
nslab.scenario, nslab.kernel and nslab.errors; verdicts are the grader's (nslab.grading)."""
