"""Run ``python -m tierzero ARGS`` many times without paying its imports each time.

Started once as ``python readme_zygote.py``, this process imports ``tierzero.cli`` and then, for
each request line on its stdin (JSON: argv, and the files to use as stdin/stdout/stderr), forks a
child that runs the ``tierzero`` module as ``python -m tierzero`` would (``runpy``, as
``__main__``) with those files as fds 0/1/2, and answers with the child's exit code. Every command
still runs in its own process, in the same working folder and environment; only the import of
the package is shared. (A plain subprocess per command costs ~2 s of CPU in imports alone, and
the README shows some forty command lines.)
"""

from __future__ import annotations

import json
import os
import runpy
import sys


def child(request: dict[str, object]) -> None:
    for fd, name, mode in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY)):
        os.dup2(os.open(str(request[name]), mode), fd)
    os.dup2(os.open(str(request["stderr"]), os.O_WRONLY), 2)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    sys.argv = ["tierzero", *map(str, request["argv"])]  # type: ignore[call-overload]
    code = 0
    try:
        runpy.run_module("tierzero", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def main() -> None:
    import tierzero.cli  # noqa: F401  (the expensive part, done once)

    requests = open(0, encoding="utf-8", closefd=False)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    for line in requests:
        request = json.loads(line)
        answers.flush()
        pid = os.fork()
        if pid == 0:
            child(request)
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
