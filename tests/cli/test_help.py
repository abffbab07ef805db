"""Every command has help, and every command is documented in the README."""

from pathlib import Path

import click
from click.testing import CliRunner

from purdah.cli import main

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


def test_top_level_help_works_with_nothing_configured():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Pre-election periods" in result.output


def test_every_command_has_help_and_is_in_the_readme():
    for path, command in commands(main):
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert command.help, f"purdah {' '.join(path)} has no help text"
        assert f"purdah {' '.join(path)}" in README, f"README does not document {path}"
