"""The statute table: every row has a source, and the README mirrors it."""

from pathlib import Path

import pytest

from purdah.rules import RULES

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
def test_readme_rules_table_mirrors_the_code(rule):
    rows = [line for line in README.splitlines() if line.startswith(f"| `{rule.key}` |")]
    assert len(rows) == 1, f"README has no single row for rule {rule.key}"
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[1] == rule.title
    assert cells[6] == "; ".join(rule.sources)
    if rule.latest_notice:
        assert cells[2].startswith(str(rule.latest_notice))
    if rule.calendar:
        assert cells[5] == rule.calendar.value
    assert cells[4] == rule.default_start.value
