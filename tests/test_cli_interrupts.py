"""main() turns interrupts into one line and the shell's exit status, even when a library wrapped them."""

from __future__ import annotations

import argparse

import pytest

import capsight.training.commands as training_commands
from capsight.cli import Terminated, main


def _raise_wrapped(interrupt: KeyboardInterrupt) -> object:
    def handler(args: argparse.Namespace) -> int:
        try:
            raise interrupt
        except KeyboardInterrupt as exc:
            # What Python does to an exception raised in a class body's __set_name__ (seen when
            # SIGTERM landed in a lazy import inside torch): a RuntimeError caused by it.
            raise RuntimeError("Error calling __set_name__ on 'Field' instance") from exc

    return handler


@pytest.mark.parametrize(
    ("interrupt", "code", "line"),
    [(Terminated(), 143, "terminated"), (KeyboardInterrupt(), 130, "interrupted")],
)
def test_an_interrupt_wrapped_by_a_library_is_still_an_interrupt(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    interrupt: KeyboardInterrupt,
    code: int,
    line: str,
) -> None:
    monkeypatch.setattr(training_commands, "cmd_train", _raise_wrapped(interrupt))
    assert main(["train", "data", "--out", "model"]) == code
    assert capsys.readouterr().err == f"capsight: {line}\n"


def test_other_errors_still_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise RuntimeError("a real bug")

    monkeypatch.setattr(training_commands, "cmd_train", handler)
    with pytest.raises(RuntimeError, match="a real bug"):
        main(["train", "data", "--out", "model"])
