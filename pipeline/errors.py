"""The base of errors an operator can fix: a missing or unfinished output, a bad argument, an
output folder that belongs to another run. The command line prints one as a single line
(``figcurate COMMAND: ...``, no traceback) and exits 2."""

from __future__ import annotations


class OperatorError(Exception):
    pass
