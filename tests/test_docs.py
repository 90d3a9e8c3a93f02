"""The README's "Scaling out" text (docs/scaling.md) documents every setting, with today's defaults."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from capsight.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SCALING = REPO / "docs" / "scaling.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_table", REPO / "scripts" / "settings_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_setting_has_a_row_in_docs_scaling() -> None:
    documented = set(re.findall(r"^\| `CAPSIGHT_([A-Z0-9_]+)` \|", SCALING.read_text(), flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from docs/scaling.md"
    assert documented - fields == set(), "docs/scaling.md documents settings that do not exist"


def test_the_settings_table_is_current() -> None:
    """Defaults and meanings as generated from the Settings class (run scripts/settings_table.py)."""
    assert _generator().render_table() in SCALING.read_text()


def test_the_readme_carries_the_same_settings_table() -> None:
    """README's "Scaling out" section is docs/scaling.md pasted in; both must stay current."""
    assert _generator().render_table() in (REPO / "README.md").read_text()
