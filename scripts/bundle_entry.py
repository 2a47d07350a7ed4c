"""The bundled executables' entry point (see build.spec): the same as the ``possuggest``
command of a pip install. It lives outside the package so that the build bundles the installed
package, never a source tree beside it."""

import multiprocessing
import os
import sys

from possuggest.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()    # a library that starts worker processes gets this exe
    # possuggest-panel.exe (Windows, no console window) has no stdout or stderr at all
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
    raise SystemExit(main())
