"""Vault-style argument handling of the CLI, without a server: single-dash flags and key=value data."""

from __future__ import annotations

import io
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from strongroom.cli.flags import Failure, VaultGroup, normalize_flags, parse_kv_args, split_list


@click.group(cls=VaultGroup)
def root() -> None:
    """A test group."""


@root.command()
@click.option("--field")
@click.option("--policy", multiple=True)
@click.option("--orphan", is_flag=True)
@click.option("--renewable/--no-renewable", default=None)
@click.option("-f", "--force", is_flag=True)
@click.argument("args", nargs=-1)
def cmd(field: str | None, policy: tuple[str, ...], orphan: bool, renewable: bool | None, force: bool,
        args: tuple[str, ...]) -> None:  # fmt: skip
    click.echo(repr((field, policy, orphan, renewable, force, args)))


def run(*argv: str) -> click.testing.Result:
    return CliRunner().invoke(root, list(argv))


def test_single_and_double_dash_long_flags_are_the_same() -> None:
    single = run("cmd", "-field=password", "-policy", "a", "-policy=b", "x=1")
    double = run("cmd", "--field=password", "--policy", "a", "--policy=b", "x=1")
    assert single.output == double.output == "('password', ('a', 'b'), False, None, False, ('x=1',))\n"


def test_boolean_flags_take_true_and_false() -> None:
    assert run("cmd", "-orphan=true", "-renewable=false").output == "(None, (), True, False, False, ())\n"
    assert run("cmd", "-orphan", "-renewable").output == "(None, (), True, True, False, ())\n"
    assert run("cmd", "-orphan=false").output == "(None, (), False, None, False, ())\n"


def test_short_flags_stdin_dash_and_after_double_dash_are_untouched() -> None:
    assert (
        run("cmd", "-f", "-", "--", "-field=x").output == "(None, (), False, None, True, ('-', '-field=x'))\n"
    )


def test_unknown_flag_is_refused_like_vault() -> None:
    with pytest.raises(click.UsageError, match=r"^flag provided but not defined: -bogus$"):
        normalize_flags(cmd, click.Context(cmd), ["-bogus=1"])


def test_bad_boolean_value_is_refused() -> None:
    with pytest.raises(click.UsageError, match='invalid boolean value "maybe" for -orphan'):
        normalize_flags(cmd, click.Context(cmd), ["-orphan=maybe"])


def test_key_value_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "value.txt"
    source.write_text("from file\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin"))
    parsed = parse_kv_args(["a=1", "b=x=y", f"c=@{source}", "d=-", "a=2"])
    assert parsed == {"a": ["1", "2"], "b": "x=y", "c": "from file\n", "d": "from stdin"}


def test_a_lone_dash_reads_a_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"data": {"k": 1}}'))
    assert parse_kv_args(["-"]) == {"data": {"k": 1}}
    monkeypatch.setattr("sys.stdin", io.StringIO("[1]"))
    with pytest.raises(Failure) as caught:
        parse_kv_args(["-"])
    assert caught.value.exit_code == 1


@pytest.mark.parametrize("bad", ["novalue", "=v"])
def test_malformed_pairs_are_usage_errors(bad: str) -> None:
    with pytest.raises(Failure) as caught:
        parse_kv_args([bad])
    assert caught.value.exit_code == 1
    assert caught.value.message == (
        f'Failed to parse K=V data: invalid key/value pair "{bad}": format must be key=value'
    )


def test_split_list_accepts_repeats_and_commas() -> None:
    assert split_list(("a,b", "c", " d , ")) == ["a", "b", "c", "d"]
