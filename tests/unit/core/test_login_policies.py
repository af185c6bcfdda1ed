"""The core's one check on every login's policies: sanitized as Vault does, and never root."""

from __future__ import annotations

import pytest

from strongroom.core.login import login_policies
from strongroom.errors import InvalidRequestError
from strongroom.logical import Auth


@pytest.mark.parametrize("spelling", ["root", "Root", "ROOT", " root", "root\t"])
def test_no_spelling_of_root_gets_through(spelling: str) -> None:
    for auth, identity in (
        (Auth(policies=(spelling,)), ()),
        (Auth(policies=("dev", spelling), no_default_policy=True), ()),
        (Auth(policies=("dev",)), (spelling,)),
    ):
        with pytest.raises(InvalidRequestError, match=r"^auth methods cannot create root tokens$"):
            login_policies(auth, identity)


def test_reserved_policies_cannot_be_assigned() -> None:
    with pytest.raises(InvalidRequestError, match=r'^cannot assign policy "response-wrapping"$'):
        login_policies(Auth(policies=("dev", " Response-Wrapping")))


def test_policies_are_sanitized_with_default_unless_refused() -> None:
    assert login_policies(Auth(policies=(" Dev", "dev", "ops "))) == ("default", "dev", "ops")
    assert login_policies(Auth(policies=("Dev",), no_default_policy=True)) == ("dev",)
    assert login_policies(Auth()) == ("default",)
