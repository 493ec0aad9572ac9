"""`mimo-desktop ask` end to end against a real loopback server (the remote engine)."""

from __future__ import annotations

import io
import json

import pytest
from sse_server import FakeOpenAIServer, refused_url

from mimo_desktop.engine.cli import run


@pytest.fixture
def server(no_thread_leaks):
    with FakeOpenAIServer() as srv:
        yield srv


def ask(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_answer_to_stdout_stats_to_stderr(server, tmp_path):
    stats = tmp_path / "stats.json"
    code, out, err = ask(["Hi there", "--engine", "remote", "--url", server.url, "--max-tokens", "20",
                          "--temperature", "0", "--stats-json", str(stats)])
    assert code == 0
    assert out == "Hello from the server\n"
    assert "[engine] ready: mimo-test @ " in err
    assert "[stats] finish=stop, prompt 12 tok, output 4 tok, TTFT " in err
    data = json.loads(stats.read_text())
    assert (data["prompt_tokens"], data["output_tokens"], data["reason"]) == (12, 4, "stop")
    body = server.requests[-1]["body"]
    assert body["messages"] == [{"role": "user", "content": "Hi there"}]
    assert (body["max_tokens"], body["temperature"]) == (20, 0.0)


def test_server_error_is_one_clear_line_and_exit_1(server):
    server.mode = "500"
    code, _, err = ask(["Hi", "--engine", "remote", "--url", server.url])
    assert code == 1
    assert err.splitlines()[-1] == "mimo-desktop ask: The server failed (500): CUDA error: an illegal memory access"


def test_unreachable_server_exit_1():
    url = refused_url()
    code, _, err = ask(["Hi", "--engine", "remote", "--url", url])
    assert code == 1 and err.splitlines()[-1].startswith(f"mimo-desktop ask: Cannot reach the server at {url}")


@pytest.mark.parametrize("argv, message", [
    (["Hi", "--engine", "remote"], "--engine remote needs --url"),
    (["Hi"], "--engine vllm needs --model DIR"),
    (["Hi", "--engine", "remote", "--url", "http://x", "--max-tokens", "0"], "max_tokens must be at least 1"),
])
def test_usage_errors(argv, message):
    code, _, err = ask(argv)
    assert code in (1, 2) and message in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_option_is_exit_2(capsys):
    assert run(["Hi", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_missing_model_folder_is_reported(tmp_path):
    code, _, err = ask(["Hi", "--model", str(tmp_path / "nope")])
    assert code == 1
    assert f"Model folder {tmp_path / 'nope'} does not exist" in err.splitlines()[-1]


def test_attachment_goes_through_the_media_layer(server, tmp_path):
    from PIL import Image

    image = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (220, 20, 20)).save(image)
    code, out, err = ask(["What colour?", "--attach", str(image), "--engine", "remote", "--url", server.url])
    assert (code, out) == (0, "Hello from the server\n"), err
    content = server.requests[-1]["body"]["messages"][0]["content"]
    assert content[0]["type"] == "image_url" and content[0]["image_url"]["url"].startswith("data:image/")
    assert content[1] == {"type": "text", "text": "What colour?"}


def test_unreadable_attachment_is_one_clear_line(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    code, _, err = ask(["What?", "--attach", str(bad), "--engine", "remote", "--url", "http://127.0.0.1:9"])
    assert code == 1 and len(err.strip().splitlines()) == 1 and err.startswith("mimo-desktop ask: ")


def test_api_key_comes_from_the_os_keyring_and_is_never_printed(no_thread_leaks, memory_keyring):
    import keyring

    with FakeOpenAIServer(api_key="kr-secret-123") as srv:
        keyring.set_password("mimo-desktop", srv.url, "kr-secret-123")
        code, out, err = ask(["Hi", "--engine", "remote", "--url", srv.url])
        assert code == 0, err
        assert srv.requests[-1]["headers"]["Authorization"] == "Bearer kr-secret-123"
        assert "kr-secret" not in out + err


def test_timeout_flags_say_what_happened_and_end_the_stream(server):
    server.mode = "stall"
    code, out, err = ask(["Hi", "--engine", "remote", "--url", server.url, "--first-token-timeout", "0.5",
                          "--token-timeout", "0.3"])
    assert code == 1 and out == "first\n"
    assert err.splitlines()[-1] == (f"mimo-desktop ask: The server at {server.url}/v1 stopped sending after 1 token: "
                                    "nothing more for 0.3 s. The request was abandoned; what arrived is kept.")


def test_max_tokens_is_enforced_on_a_server_that_never_stops(server):
    server.mode = "endless"
    code, out, err = ask(["Hi", "--engine", "remote", "--url", server.url, "--max-tokens", "50"])
    assert code == 0 and out.split() == [f"e{i}" for i in range(50)]
    assert "finish=length" in err and "output 50 tok" in err


def test_credentials_in_the_url_are_never_printed(server):
    url = server.url.replace("http://", "http://alice:s3cret@")
    server.mode = "500"
    code, out, err = ask(["Hi", "--engine", "remote", "--url", url])
    assert code == 1 and "s3cret" not in err + out and "alice" not in err + out
    assert f"@ {server.url}/v1" in err  # the ready line names the server without them
    refused = refused_url().replace("http://", "http://alice:s3cret@")
    code, out, err = ask(["Hi", "--engine", "remote", "--url", refused])
    assert code == 1 and "s3cret" not in err + out and "Cannot reach the server at http://127.0.0.1:" in err
