"""PyInstaller's entry script for the bundle: the same `main` as the `mimo-desktop` console script."""

import multiprocessing
import sys

from mimo_desktop.__main__ import main

if __name__ == "__main__":
    # A frozen program must let spawned children (multiprocessing, "spawn") run their task, not the app.
    multiprocessing.freeze_support()
    sys.exit(main())
