"""``capsight serve --host "$HOST"`` with HOST unset: ``--host ''``.

Why: the flag travels to the settings through the environment, so the refusal named a variable the
user never set ("invalid settings: CAPSIGHT_HOST='': String should have at least 1 character"). It
is refused at parse time naming the flag.
"""

from __future__ import annotations

import pytest

from capsight.cli import main


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_host_flag_is_refused_naming_the_flag(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--host", value, "--port", "1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert (
        "argument --host: is empty: name an interface (127.0.0.1, 0.0.0.0, ::) or leave --host out" in err
    ), err
    assert "CAPSIGHT_HOST" not in err
