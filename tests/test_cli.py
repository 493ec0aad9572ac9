"""The command line as a person or a script uses it: real processes, real files."""

import json
import os
import subprocess
import sys
from pathlib import Path

from mimo_desktop import __version__
from mimo_desktop.core.conversation import Role
from mimo_desktop.core.store import Store

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, home=None, timeout=180):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if home is not None:
        env["MIMO_DESKTOP_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "mimo_desktop", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )


def test_version():
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"mimo-desktop {__version__}"


def test_unknown_option_is_a_usage_error():
    out = cli("--frobnicate")
    assert out.returncode == 2 and "unknown option --frobnicate" in out.stderr


def test_self_test_passes_and_leaves_the_user_data_alone(mimo_home):
    out = cli("--self-test", home=mimo_home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("self-test passed")
    assert "ok   search finds it" in out.stdout
    assert not mimo_home.exists()  # it ran in a temporary home


def _seed(home):
    store = Store.open(home)
    a = store.create_conversation("Birds")
    store.add_message(a.id, Role.USER, "Which bird is this?")
    ans = store.add_message(a.id, Role.ASSISTANT, "A **robin**.")
    store.update_message(ans.id, reasoning="Red breast, small size.")
    b = store.create_conversation("Music")
    store.add_message(b.id, Role.USER, "Name this tune")
    store.close()
    return a.id, b.id


def test_export_markdown_of_one_conversation_to_a_file(mimo_home, tmp_path):
    a, _ = _seed(mimo_home)
    target = tmp_path / "birds.md"
    out = cli("export", "--conversation", str(a), "--format", "md", "-o", str(target), home=mimo_home)
    assert out.returncode == 0, out.stderr
    text = target.read_text()
    assert text.startswith("# Birds")
    assert "## User" in text and "Which bird is this?" in text and "A **robin**." in text
    assert "Music" not in text and "Red breast" not in text
    out = cli("export", "--conversation", str(a), "--format", "md", "--reasoning", home=mimo_home)
    assert "Red breast, small size." in out.stdout


def test_export_all_as_json_to_stdout(mimo_home):
    _seed(mimo_home)
    out = cli("export", "--format", "json", home=mimo_home)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [c["title"] for c in data["conversations"]] == ["Birds", "Music"]
    birds = data["conversations"][0]["messages"]
    assert [m["role"] for m in birds] == ["user", "assistant"]
    assert birds[1]["parent_id"] == birds[0]["id"]
    assert birds[1]["reasoning"] == "Red breast, small size."


def test_export_of_a_missing_conversation_fails_clearly(mimo_home):
    _seed(mimo_home)
    out = cli("export", "--conversation", "999", "--format", "md", home=mimo_home)
    assert out.returncode == 1
    assert out.stderr.strip() == "mimo-desktop export: Conversation 999 does not exist."


def test_export_to_an_unwritable_place_fails_clearly(mimo_home, tmp_path):
    _seed(mimo_home)
    out = cli("export", "--format", "md", "-o", str(tmp_path / "no" / "such" / "dir" / "x.md"), home=mimo_home)
    assert out.returncode == 1 and "cannot write" in out.stderr
