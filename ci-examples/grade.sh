#!/usr/bin/env bash
# Grade learners' fixes in CI: for every scenario that has a fix directory, build the lab,
# run the fix scripts inside its nodes, and grade the result with live traffic.
#
# Usage (as root, in a privileged container or VM):  grade.sh [FIXES_DIR] [REPORTS_DIR]
#   FIXES_DIR (default: fixes) holds one directory per scenario, named after it, with one
#   script per node, named after the node:   fixes/host-router-host/client.sh
#   Each script runs inside its node with `nslab exec NODE -- sh -e -c TEXT`, in name order,
#   as if typed into `nslab shell NODE`. A failing script is reported and grading goes on:
#   only the live network decides the grade.
#   REPORTS_DIR (default: reports) receives one JUnit file per scenario: SCENARIO.xml.
#   NSLAB_GRADE_PREFIX, if set, goes before each lab's name (grade-two-hosts), so that
#   grading can run on a machine where other labs are up.
# Exit: 0 when every scenario passes its checks, 1 when one fails or does not build,
#   2 on bad usage. Every lab is torn down, whatever happens.
set -uo pipefail
shopt -s nullglob

fixes=${1:-fixes}
reports=${2:-reports}
if [ ! -d "$fixes" ]; then
    echo "grade.sh: no fixes directory '$fixes' (expected $fixes/SCENARIO/NODE.sh)" >&2
    exit 2
fi
mkdir -p "$reports" || exit 2

# A JUnit file for a scenario whose lab did not build, so the CI test view shows it.
build_error_report() {
    cat >"$2" <<XML
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="$1" tests="1" failures="0" errors="1">
<testcase classname="$1" name="build"><error message="nslab up $1 failed: see the job log"/></testcase>
</testsuite></testsuites>
XML
}

status=0
graded=0
for dir in "$fixes"/*/; do
    scenario=$(basename "$dir")
    lab="${NSLAB_GRADE_PREFIX:-}$scenario"
    # nslab's rule for lab names; it also means nothing here needs XML escaping in the report.
    if [[ ! $lab =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]]; then
        echo "grade.sh: skipping '$dir': lab name '$lab' is not lowercase letters, digits, '-'" \
            "(at most 32)" >&2
        status=1
        continue
    fi
    report="$reports/$scenario.xml"
    graded=$((graded + 1))
    echo "=== $scenario"
    if ! nslab up "$scenario" --prefix "$lab"; then
        build_error_report "$scenario" "$report"
        status=1
        continue
    fi
    for script in "$dir"*.sh; do
        node=$(basename "$script" .sh)
        echo "--- $scenario: running $script inside node $node"
        # The script's text, not its path: a node sees its own /tmp, /root, /home, ... (its
        # node view), so a path on this machine may not exist inside the node.
        nslab exec --lab "$lab" "$node" -- sh -e -c "$(cat "$script")" "$script" </dev/null ||
            echo "--- $scenario: $script exited $? (grading goes on)"
    done
    nslab check --lab "$lab" --junit "$report" || status=1
    nslab down "$lab" || status=1
done
if [ "$graded" -eq 0 ]; then
    echo "grade.sh: no scenario directories in '$fixes'" >&2
    exit 2
fi
exit "$status"
