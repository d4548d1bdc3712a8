from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import click

from nslab.cli.common import ALLOW_EXEC_OPTION, need_root, not_empty


@click.command("selftest")
@click.argument("scenarios", nargs=-1, metavar="[NAME|FILE]...")
@click.option("--all", "everything", is_flag=True, help="Every scenario 'nslab list' shows.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--junit", "junit", metavar="FILE", help="Also write JUnit XML to FILE (one test case per phase)."
)
@click.option(
    "--prefix",
    default=None,
    metavar="NAME",
    callback=not_empty,
    help="Lab name used while testing (default: st<pid>).",
)
@ALLOW_EXEC_OPTION
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Test only the variants with this parameter value (repeatable).",
)
def selftest_command(
    scenarios: tuple[str, ...],
    everything: bool,
    as_json: bool,
    junit: str | None,
    prefix: str | None,
    allow_exec: bool,
    params: tuple[str, ...],
) -> None:
    """Prove scenarios work: built healthy every check passes; built broken every goal fails
    and every guard passes; after the reference solution everything passes; teardown leaves
    nothing. Scenarios whose parameters switch faults or checks (when:) are tested once per
    combination of values.

    Exits 0 only if every phase of every scenario passed.

    \b
    Example:
      sudo nslab selftest two-hosts host-router-host
      sudo nslab selftest --all --junit selftest.xml
      sudo nslab selftest fault-routed --param fault=wrong-address
    """
    from nslab.cli.common import parse_params
    from nslab.engine.naming import check_lab_name
    from nslab.errors import UsageError
    from nslab.grading.selftest import Variant
    from nslab.scenario import catalog

    forced = parse_params(params)

    need_root("nslab selftest")
    if everything:
        scenarios = tuple(e.name for e in catalog.entries() if not e.error) + scenarios
    if not scenarios:
        raise UsageError("name the scenarios to test", "e.g. 'nslab selftest two-hosts', or --all")
    lab_name = check_lab_name(prefix or f"st{os.getpid() % 100000}")
    results: list[Variant] = []

    def show(variant: Variant) -> None:
        if not as_json:
            from nslab.grading.render_selftest import variant_text

            click.echo(variant_text(variant))

    for name in scenarios:
        for variant in _variants(name, lab_name, forced, allow_exec):
            show(variant)
            results.append(variant)
    if junit:
        from nslab.grading.render_junit import write
        from nslab.grading.render_selftest import selftest_junit

        write(junit, selftest_junit(results))
    if as_json:
        from nslab.cli.common import echo_json
        from nslab.grading.render_selftest import selftest_json

        echo_json(selftest_json(results))
    else:
        failed = [v.label for v in results if not v.ok]
        verdict = "all passed" if not failed else "FAILED: " + ", ".join(failed)
        click.echo(f"selftest: {len(results)} variant(s) of {len(scenarios)} scenario(s): {verdict}")
    if any(not v.ok for v in results):
        raise SystemExit(1)


def _variants(name: str, lab_name: str, forced: dict[str, Any], allow_exec: bool) -> Iterator[Any]:
    """Each selected variant of one scenario, run as it comes (so progress shows). A scenario
    from outside the package with commands is refused before anything is built."""
    from nslab.grading.selftest import run_variant
    from nslab.scenario import catalog, loader, trust

    path = str(catalog.resolve(name))
    # Loading with the forced values refuses an unknown parameter or a value not among its
    # choices, with the scenario's own error (exit 2), before anything is built.
    scenario = loader.load(path, overrides=forced or None)
    trust.gate(scenario, path, None, allow_exec, (trust.SERVICES, trust.SOLUTION))
    for params in selected_variants(scenario, forced):
        yield run_variant(path, scenario, params, lab_name)


def selected_variants(scenario: Any, forced: dict[str, Any]) -> list[dict[str, Any]]:
    """The variants selftest runs: every combination of the when: parameters, keeping only
    those with the forced values; a forced parameter that no when: uses is simply set."""
    from nslab.grading import phases

    out = []
    for variant in phases.variants(scenario):
        if all(variant.get(k, v) == v for k, v in forced.items()):
            out.append({**variant, **forced})
    return out
