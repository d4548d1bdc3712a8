"""The scenario language: a YAML file becomes a validated, frozen model.

yamlsrc (located YAML) -> params (the seed picks values) -> spec/schema (structure, model
objects) -> semantic (meaning) -> model. Also the kind registries that checks, faults and
services fill (kinds), the firewall rule language (firewall), the catalog of shipped labs and
the topology views. Imports only nslab.kernel's pure tables and nslab.errors; needs no root."""
