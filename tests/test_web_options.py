"""What `python -m console.web` opens: a network address only when asked, remote sessions read-only unless
changes are allowed, and every option it cannot use answered in one sentence (exit 2), never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from console.web import main
from tests.web_rig import console_session, free_port, run_web, web_server


def one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def refusal(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`python -m console.web ARGS` in this process (the same main, without an interpreter start per case)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # no address printed: nothing listens
    return one_sentence(err)


def test_a_network_address_is_refused_without_allow_remote() -> None:
    result = run_web("--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode == 2
    assert "--allow-remote" in one_sentence(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize("host", ["192.0.2.10", "console.example.com", "::"])
def test_any_address_but_loopback_needs_allow_remote(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--allow-remote" in refusal(capsys, "--host", host)


@pytest.mark.parametrize(("args", "named"), [
    (["--port", "abc"], "--port"),
    (["--port", "70000"], "--port"),
    (["--max-sessions", "0"], "--max-sessions"),
    (["--read-only", "--allow-changes"], "--allow-changes"),
    (["--allow-changes"], "--allow-changes"),
    (["--iap-audience", "/projects/1/global/backendServices/2", "--operator", "bob"], "--operator"),
    (["--iap-audience", "my-app"], "--iap-audience"),
    (["--iap-keys-url", "http://127.0.0.1:1/keys"], "--iap-keys-url"),
    (["--host", "0.0.0.0", "--allow-remote", "--public-url", "ftp://console.example.com"], "--public-url"),
    (["--host", "0.0.0.0", "--allow-remote", "--public-url", "https://console.example.com/ops"], "--public-url"),
    (["--operator", ""], "--operator"),
    (["--config", "/nonexistent/opsconsole.toml"], "--config"),
    (["--no-such-option"], "--no-such-option"),
])
def test_a_bad_option_is_one_sentence_and_exit_2(args: list[str], named: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert named in refusal(capsys, *args)


def test_a_port_in_use_is_one_sentence() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_web("--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in one_sentence(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize(("extra", "read_only"), [([], True), (["--allow-changes"], False)])
async def test_a_remote_session_is_read_only_unless_changes_are_allowed(tmp_path: Path, extra: list[str],
                                                                        read_only: bool) -> None:
    port = free_port()
    with web_server(tmp_path, "--allow-remote", "--public-url", f"http://127.0.0.1:{port}", *extra,
                    host="0.0.0.0", port=port) as server:
        assert ("read-only" in server.start_line) is read_only
        async with console_session(server, server.cookie()):
            [console] = server.consoles()
            assert ("--read-only" in console.argv) is read_only


def test_port_0_takes_a_free_port_and_prints_the_address_that_has_it(tmp_path: Path) -> None:
    with web_server(tmp_path / "a", port=0) as first, web_server(tmp_path / "b", port=0) as second:
        assert 0 < first.port != second.port > 0
        for server in (first, second):
            assert f"http://127.0.0.1:{server.port}/?token=" in server.start_line
            assert server.cookie()  # the printed address lets a browser in there (Host and cookie name agree)
