"""`python -m nslab`. Ctrl-C while the interpreter is still importing gives "interrupted" and
exit 130, not a KeyboardInterrupt traceback (main() restores the usual handler at once)."""

import signal
import sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    sys.stderr.write("interrupted\n")
    raise SystemExit(130)


signal.signal(signal.SIGINT, _interrupted_while_starting)

from nslab.cli.main import main  # noqa: E402  (after the handler, on purpose)

main()
