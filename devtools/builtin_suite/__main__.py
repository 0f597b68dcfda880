"""``python -m devtools.builtin_suite``: rewrite ``tierzero/evals/datasets/builtin/``."""

from devtools.builtin_suite.suite import write


def main() -> None:
    """Write the suite's files and print their paths."""
    for path in write():
        print(path)


if __name__ == "__main__":
    main()
