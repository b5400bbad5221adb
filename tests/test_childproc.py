"""The process plumbing workers and proxies share: output read line by line, how a child ended."""

from __future__ import annotations

import os
import signal

from alembic_provider.childproc import OutputReader, ended, tail


def _read(data: bytes, **options: object) -> tuple[str, list[str]]:
    read_fd, write_fd = os.pipe()
    seen: list[str] = []
    reader = OutputReader(read_fd, seen.append, **options)  # type: ignore[arg-type]
    reader.start()
    os.write(write_fd, data)
    os.close(write_fd)
    reader.join(10)
    assert not reader.is_alive()
    return reader.text(), seen


def test_lines_are_passed_on_and_the_last_partial_line_is_kept() -> None:
    text, seen = _read(b"one\r\ntwo\nthree")
    assert seen == ["one", "two", "three"]
    assert text == "one\ntwo\nthree"


def test_the_tail_kept_is_bounded_and_long_lines_are_split() -> None:
    text, _ = _read(b"".join(b"line %d\n" % n for n in range(1000)), limit=100)
    assert len(text) <= 100 + len("line 999")
    assert text.endswith("line 999")
    _, seen = _read(b"x" * 10, line_limit=4)
    assert seen == ["xxxx", "xxxx", "xx"]


def test_how_a_process_ended_and_its_tail() -> None:
    assert ended(0) == "exit status 0"
    assert ended(-signal.SIGKILL) == "killed by SIGKILL"
    assert ended(-250) == "killed by signal 250"
    assert ended(None) == "exit status unknown"
    assert tail("a\nb\nc\n", 2) == "b\nc"
