"""Declarative backends: Path, Field, FieldData, FrameworkBackend. Layer: framework (imports logical only).

A backend is a list of Path declarations; help, OpenAPI, field coercion, unknown-field warnings and the
create-versus-update existence check all come from them.
"""

from strongroom.framework.backend import FrameworkBackend
from strongroom.framework.fields import Field, FieldType
from strongroom.framework.path import ExistenceCheck, FieldData, Handler, Path
from strongroom.framework.secret import SecretHandler, SecretType

__all__ = [
    "ExistenceCheck",
    "Field",
    "FieldData",
    "FieldType",
    "FrameworkBackend",
    "Handler",
    "Path",
    "SecretHandler",
    "SecretType",
]
