"""Where MiMo Desktop keeps its data: the platform's user data folder, or $MIMO_DESKTOP_HOME."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "MIMO_DESKTOP_HOME"


def data_home() -> Path:
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser()
    import platformdirs  # small, pure Python; kept local so `--version` stays instant

    return Path(platformdirs.user_data_dir("mimo-desktop", "MiMo Desktop"))


def database_path(home: Path | None = None) -> Path:
    return (home or data_home()) / "conversations.sqlite3"


def attachments_dir(home: Path | None = None) -> Path:
    return (home or data_home()) / "attachments"
