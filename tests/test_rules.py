"""The statute table: every row has a source, a link, a period, and the README mirrors it."""

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from purdah.rules import RULES, versions

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def readme_row(key):
    rows = [line for line in README.splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"README has no single row for rule {key}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
def test_readme_rules_table_mirrors_the_code(rule):
    cells = readme_row(rule.key)
    assert cells[1] == rule.title
    assert cells[6] == "; ".join(rule.sources)
    if rule.latest_notice:
        assert cells[2].startswith(str(rule.latest_notice))
    if rule.calendar:
        assert cells[5] == rule.calendar.value
    assert cells[4] == rule.default_start.value
    assert cells[7] == rule.period
    assert cells[8] == " ".join(f"<{link}>" for link in rule.links)


def test_readme_has_no_row_the_code_lacks():
    keys = {r.key for r in RULES}
    table = [line for line in README.splitlines() if line.startswith("| `")]
    listed = {line.split("`")[1] for line in table if line.count("|") == 10}
    assert listed == keys


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.key)
def test_every_rule_links_its_instrument_on_legislation_gov_uk(rule):
    assert rule.links, rule.key
    if rule.key == "local-col":
        # Acts of Common Council are not on legislation.gov.uk: the City publishes them.
        assert rule.links[0].startswith("https://www.cityoflondon.gov.uk/")
        assert rule.links[1] == "https://www.legislation.gov.uk/ukla/2002/6"
        return
    assert all(link.startswith("https://www.legislation.gov.uk/") for link in rule.links)


@pytest.mark.parametrize("family", sorted({r.family for r in RULES}))
def test_versions_of_a_rule_do_not_overlap_and_leave_no_gap(family):
    rows = versions(family)
    if family == "ref":
        return  # one row per referendum kind, chosen by --referendum, not by date
    for older, newer in pairwise(rows):
        assert older.applies_to is not None and newer.applies_from is not None
        assert newer.applies_from == older.applies_to + timedelta(days=1), (older, newer)
    assert rows[-1].applies_to is None, f"{family}: no version in force today"
    assert rows[-1].applies(date(2030, 1, 1))


def test_cli_referendum_choices_are_the_rule_kinds():
    from purdah.cli.options import REFERENDUM_KINDS as CHOICES
    from purdah.rules import REFERENDUM_KINDS

    assert tuple(REFERENDUM_KINDS) == CHOICES
