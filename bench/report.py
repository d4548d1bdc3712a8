"""Turn one run's raw samples into medians, ratios, target verdicts and a markdown table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f}" if value >= 0.01 else f"{value * 1000:.1f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fx(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


@dataclass
class Target:
    name: str
    figure: str
    met: bool | None  # None: could not be measured (the reason is in figure)

    def row(self) -> str:
        verdict = {True: "met", False: "NOT met", None: "skipped"}[self.met]
        return f"| {self.name} | {self.figure} | {verdict} |"

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.name, "figure": self.figure, "met": self.met}


def star_medians(star: dict[str, Any], what: str) -> dict[str, dict[int, float | None]]:
    """way -> N -> median seconds of `what` (build or teardown)."""
    out: dict[str, dict[int, float | None]] = {}
    for n_text, ways in star.items():
        for key, data in ways.items():
            out.setdefault(key, {})[int(n_text)] = med([s[what] for s in data["samples"]])
    return out


def targets(results: dict[str, Any]) -> list[Target]:
    build = star_medians(results["star"], "build")
    down = star_medians(results["star"], "teardown")
    big_n = max((int(n) for n in results["star"]), default=0)

    def at(table: dict[str, dict[int, float | None]], key: str) -> float | None:
        return table.get(key, {}).get(big_n)

    out = []
    r = ratio(at(build, "nslab"), at(build, "floor"))
    out.append(
        Target(
            f"build N={big_n} within 2x the raw-netlink floor",
            f"{fx(r)} ({ms(at(build, 'nslab'))} ms vs {ms(at(build, 'floor'))} ms)",
            None if r is None else r <= 2.0,
        )
    )
    r = ratio(at(build, "ip-script"), at(build, "nslab-cli"))
    out.append(
        Target(
            f"build N={big_n} >= 5x faster than one-`ip`-per-command script (`nslab up`, whole process)",
            f"{fx(r)} ({ms(at(build, 'ip-script'))} ms vs {ms(at(build, 'nslab-cli'))} ms)",
            None if r is None else r >= 5.0,
        )
    )
    mininet_skip = results.get("mininet_skipped")
    r = ratio(at(build, "mininet"), at(build, "nslab"))
    out.append(
        Target(
            f"build N={big_n} >= 5x faster than Mininet (both in process)",
            f"skipped: {mininet_skip}"
            if mininet_skip
            else f"{fx(r)} ({ms(at(build, 'mininet'))} ms vs {ms(at(build, 'nslab'))} ms)",
            None if r is None else r >= 5.0,
        )
    )
    for key, how in (("nslab", "library, lab.down_one"), ("nslab-cli", "`nslab down`, whole process")):
        t = at(down, key)
        out.append(
            Target(
                f"teardown of {big_n} hosts < 200 ms ({how})",
                f"{ms(t)} ms (floor {ms(at(down, 'floor'))} ms)",
                None if t is None else t < 0.200,
            )
        )
    sc = results.get("scenario", {})
    modes = sc.get("modes", [])
    name = sc.get("name", "the scenario")
    for step, limit in (("up", 0.300), ("down", 0.150)):
        # The same command on the same topology, so both builds' runs count (more samples).
        runs = [t for mode in modes for t in sc[mode].get(step, [])]
        t = med(runs)
        each = ", ".join(f"{mode} {ms(med(sc[mode].get(step, [])))} ms" for mode in modes)
        out.append(
            Target(
                f"`nslab {step}` of {name} < {limit * 1000:.0f} ms (whole process)",
                f"{ms(t)} ms (median of {len(runs)} runs: {each})",
                None if t is None else t < limit,
            )
        )
    if sc.get("check_skipped"):
        out.append(Target("`nslab check` within longest probe timeout + 150 ms", sc["check_skipped"], None))
    else:
        t = med(sc.get("healthy", {}).get("check", []))
        limit = sc.get("check_limit", 0.15)
        out.append(
            Target(
                "`nslab check` within longest probe timeout + 150 ms (healthy build: every check passes)",
                f"{ms(t)} ms (limit {ms(limit)} ms, {sc.get('checks')} checks)",
                None if t is None else t <= limit,
            )
        )
        if "broken" in sc.get("modes", []):
            t = med(sc["broken"].get("check", []))
            limit = sc.get("check_limit_broken", 0.15)
            out.append(
                Target(
                    "`nslab check` on the broken build within longest timeout + `within` retry window"
                    " + 150 ms",
                    f"{ms(t)} ms (limit {ms(limit)} ms)",
                    None if t is None else t <= limit,
                )
            )
    t = med(results.get("help", {}).get("nslab_help", []))
    out.append(
        Target("`nslab --help` < 150 ms (whole process)", f"{ms(t)} ms", None if t is None else t < 0.150)
    )
    big = results.get("big") or {}
    if big:
        figure = (
            f"{'pass' if big['ok'] else 'FAIL'}: up {ms(big.get('up'))} ms, down {ms(big.get('down'))} ms"
            + (f", floor build {ms(big.get('floor_build'))} ms" if big.get("floor_build") else "")
            + (
                f"; the floor's build of the same size failed: {big['floor_error']}"
                if big.get("floor_error")
                else ""
            )
            + (f" ({' '.join(big['error'].split())})" if big.get("error") else "")
        )
        out.append(
            Target(f"{big['n']} hosts at ulimit -n 1024 (`nslab up` + `nslab down`)", figure, big["ok"])
        )
    return out


def markdown(results: dict[str, Any], verdicts: list[Target]) -> str:
    build = star_medians(results["star"], "build")
    down = star_medians(results["star"], "teardown")
    sizes = sorted(int(n) for n in results["star"])
    big_n = sizes[-1] if sizes else 0
    labels = results["labels"]
    reps = results["config"]["reps"]
    lines = [
        f"Run {results['date']} on {results['machine']['summary']};",
        f"command: `{results['config']['command']}`.",
        f"Medians of {', '.join(f'{reps[str(n)]} (N={n})' for n in sizes)} repetitions, all ways interleaved "
        "in one run; every counted build passed a ping from the last host to the first, and every "
        "counted teardown left no namespace.",
        "",
        "Star build, median ms (lower is better):",
        "",
        "| way | "
        + " | ".join(f"N={n}" for n in sizes)
        + f" | ms/host (N={big_n}) | ms per added host (N={sizes[0]}->{big_n}) | x floor (N={big_n}) |",
        "|---|" + "---:|" * (len(sizes) + 3),
    ]
    floor_big = build.get("floor", {}).get(big_n)
    for key in results["order"]:
        row = build.get(key)
        if row is None:
            continue
        cells = [ms(row.get(n)) for n in sizes]
        per = row.get(big_n)
        per_host = f"{per / big_n * 1000:.2f}" if per is not None and big_n else "n/a"
        small = row.get(sizes[0])
        added = (
            f"{(per - small) / (big_n - sizes[0]) * 1000:.2f}"
            if per is not None and small is not None and big_n > sizes[0]
            else "n/a"
        )
        lines.append(
            f"| {labels[key]} | "
            + " | ".join(cells)
            + f" | {per_host} | {added} | {fx(ratio(per, floor_big))} |"
        )
    if results.get("mininet_skipped"):
        lines.append(f"| Mininet | skipped: {results['mininet_skipped']} |" + " |" * (len(sizes) + 2))
    lines += [
        "",
        "Star teardown, median ms:",
        "",
        "| way | " + " | ".join(f"N={n}" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for key in results["order"]:
        if key in down:
            lines.append(f"| {labels[key]} | " + " | ".join(ms(down[key].get(n)) for n in sizes) + " |")
    sc = results.get("scenario", {})
    hp = results.get("help", {})
    lines += [
        "",
        "Whole-process commands (real interpreter and console script, not the pyenv shim), median ms:",
        "",
        "| command | median ms | runs |",
        "|---|---:|---:|",
        f"| `python -c pass` (interpreter start) | {ms(med(hp.get('python', [])))} "
        f"| {len(hp.get('python', []))} |",
        f"| `nslab --help` | {ms(med(hp.get('nslab_help', [])))} | {len(hp.get('nslab_help', []))} |",
        f"| `nslab --help`, no cached bytecode (PYTHONDONTWRITEBYTECODE=1, for information) "
        f"| {ms(med(hp.get('nslab_help_nopyc', [])))} | {len(hp.get('nslab_help_nopyc', []))} |",
    ]
    name = sc.get("name", "scenario")
    for mode in sc.get("modes", []):
        how = "broken, as a learner gets it" if mode == "broken" else "--healthy"
        for step in ("up", "check", "down"):
            runs = sc[mode].get(step, [])
            if step == "check" and sc.get("check_skipped"):
                lines.append(f"| `nslab check` ({name}) | {sc['check_skipped']} | 0 |")
                continue
            lines.append(f"| `nslab {step}` ({name}, {how}) | {ms(med(runs))} | {len(runs)} |")
    if sc.get("python"):
        lines.append(
            f"| `python -c pass`, measured alongside the scenario runs | {ms(med(sc['python']))} "
            f"| {len(sc['python'])} |"
        )
    if sc.get("checks_note"):
        lines += ["", f"`nslab check` ran on {name}: {sc['checks_note']}."]
    lines += ["", "Targets:", "", "| target | figure | verdict |", "|---|---|---|"]
    lines += [t.row() for t in verdicts]
    failures = results.get("failures", [])
    if failures:
        lines += ["", f"{len(failures)} failed attempts (not counted):", ""]
        lines += [f"- {f}" for f in failures[:10]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # Re-render the tables of a saved run: python3 bench/report.py bench/results/<timestamp>.json
    import json
    import sys

    with open(sys.argv[1]) as handle:
        saved = json.load(handle)
    sys.stdout.write(markdown(saved, targets(saved)))
