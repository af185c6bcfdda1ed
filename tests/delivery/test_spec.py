"""Parsing of `-secret=` requests with Docker's `--secret` rules."""

from __future__ import annotations

import pytest

from strongroom.delivery.namespace import Delivery, tmpfs_size
from strongroom.delivery.spec import SecretRequest, SpecError, parse_request, parse_requests


def test_bare_name_takes_docker_defaults() -> None:
    assert parse_request("db") == SecretRequest(source="db", target="db", uid=0, gid=0, mode=0o444)
    assert parse_request("db").path == "/run/secrets/db"


def test_every_field() -> None:
    request = parse_request("src=db,target=/run/secrets/pw,uid=10,gid=20,mode=0440")
    assert request == SecretRequest(source="db", target="pw", uid=10, gid=20, mode=0o440)
    assert parse_request("db,target=pw,mode=400").mode == 0o400


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "invalid field '' must be a key=value pair"),
        ("target=x", "source is required"),
        ("db,oops", "invalid field 'oops' must be a key=value pair"),
        ("db,color=red", "invalid field key 'color'"),
        ("db,mode=9", "invalid mode '9'"),
        ("db,mode=17777", "invalid mode '17777'"),
        ("db,uid=-1", "invalid uid '-1'"),
        ("db,gid=x", "invalid gid 'x'"),
        ("db,target=/etc/passwd", "invalid target '/etc/passwd': must be a file in /run/secrets"),
        ("db,target=../x", "invalid target '../x': must be a file in /run/secrets"),
        ("db,target=a/b", "invalid target 'a/b': must be a file in /run/secrets"),
        ("db,target=/run/secrets/a/b", "invalid target '/run/secrets/a/b': must be a file in /run/secrets"),
    ],
)
def test_refusals(value: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_request(value)
    assert str(caught.value) == message


def test_two_requests_may_not_share_a_target() -> None:
    with pytest.raises(SpecError, match=r"^duplicate secret target for b not allowed$"):
        parse_requests(["a,target=x", "b,target=x"])
    assert [r.target for r in parse_requests(["a", "b,target=c"])] == ["a", "c"]


def test_delivery_repr_hides_the_value_and_tmpfs_fits_the_files() -> None:
    delivery = Delivery(parse_request("db"), b"hunter2")
    assert "hunter2" not in repr(delivery)
    assert repr(delivery).endswith("data=<7 bytes>)")
    assert tmpfs_size([delivery, Delivery(parse_request("x"), b"a" * 4097)]) == (2 + 3 + 1) * 4096
