"""util.frozen.replace: the same copies as dataclasses.replace, by the fast path where that is safe."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from strongroom.util.frozen import replace


@dataclass(frozen=True, slots=True)
class Plain:
    name: str
    size: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Checked:
    size: int

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("negative size")


@dataclass(frozen=True, slots=True)
class Derived:
    size: int
    double: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "double", self.size * 2)


def test_plain_copies_match_dataclasses_replace() -> None:
    original = Plain("a", 1, ("x",))
    for changes in ({}, {"size": 2}, {"name": "b", "tags": ()}):
        copy = replace(original, **changes)
        assert copy == dataclasses.replace(original, **changes)
        assert type(copy) is Plain
    assert original == Plain("a", 1, ("x",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        replace(original, size=3).size = 4  # type: ignore[misc]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(TypeError):
        replace(Plain("a"), colour="red")


def test_classes_with_init_logic_still_run_it() -> None:
    with pytest.raises(ValueError, match="negative size"):
        replace(Checked(1), size=-1)
    assert replace(Derived(2), size=5).double == 10


@dataclass(frozen=True, slots=True)
class Awkward:
    # Field names that a careless compiled copier would confuse with its own parameters and locals.
    value: str
    fresh: int = 0
    copy: str = ""


def test_field_names_like_the_copiers_own_names() -> None:
    original = Awkward("v", 1, "c")
    assert replace(original, value="w") == Awkward("w", 1, "c")
    assert replace(original, fresh=2, copy="d") == Awkward("v", 2, "d")
    assert replace(original) == original
    assert replace(original) is not original


@dataclass(frozen=True, slots=True)
class Extended(Plain):
    colour: str = "red"


def test_fields_of_a_slotted_base_class_are_copied_too() -> None:
    # The base's fields live in the base's slots: the copier must find their descriptors there.
    original = Extended("a", 1, ("x",), "blue")
    for changes in ({}, {"name": "b"}, {"colour": "green", "size": 5}):
        copy = replace(original, **changes)
        assert copy == dataclasses.replace(original, **changes)
        assert type(copy) is Extended
