from __future__ import annotations

import os

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
def selftest_command(
    scenarios: tuple[str, ...],
    everything: bool,
    as_json: bool,
    junit: str | None,
    prefix: str | None,
    allow_exec: bool,
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
    """
    from nslab.engine.naming import check_lab_name
    from nslab.errors import UsageError
    from nslab.grading.selftest import Variant, selftest
    from nslab.scenario import catalog

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
        results += selftest(name, lab_name, on_variant=show, allow_exec=allow_exec)
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
