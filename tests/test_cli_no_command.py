"""``capsight`` with no command is a usage error: the help on stderr and exit status 2.

Why: it printed the help on stdout and exited 0, so a script or CI step that lost its command
(``capsight $CMD`` with CMD unset) "succeeded" having done nothing. 2 on stderr is what argparse
answers for every other usage error, ``capsight keys`` without an action included.
"""

from __future__ import annotations

import pytest

from capsight.cli import main


@pytest.mark.parametrize("argv", [[], ["-v"]])
def test_no_command_prints_help_to_stderr_and_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: capsight [-h] [--version] [-v] COMMAND ...\n")
    assert "  serve " in err
    assert err.endswith("\ncapsight: error: a command is required (see the list above).\n")


def test_help_itself_still_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: capsight")
