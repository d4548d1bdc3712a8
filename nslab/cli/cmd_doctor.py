from __future__ import annotations

import click


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor_command(as_json: bool) -> None:
    """Check that this machine can run labs: root, kernel features, tools, limits.

    Kernel features are tested for real in a throwaway namespace. Exits 4 if something
    required is missing, and says how to fix each problem.

    \b
    Example:
      sudo nslab doctor
    """
    from nslab.engine import doctor

    findings = doctor.run()
    if as_json:
        from dataclasses import asdict

        from nslab.cli.common import echo_json

        echo_json([asdict(f) for f in findings])
    else:
        for f in findings:
            mark = "ok  " if f.ok else ("FAIL" if f.required else "warn")
            click.echo(f"{mark} {f.name:<24} {f.detail}")
            if not f.ok and f.fix:
                click.echo(f"     fix: {f.fix}")
    if any(not f.ok and f.required for f in findings):
        raise SystemExit(4)
