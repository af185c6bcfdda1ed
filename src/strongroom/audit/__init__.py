"""Audit logging: devices (file, socket, syslog), Vault's JSON entry format with salted HMACs, and the
broker that fans every entry out to the devices and fails closed.

Layer: a service beside tokens and policy. Imports logical, crypto, util and errors; never core.
"""

from strongroom.audit.broker import (
    API_CREATION_REFUSED,
    AuditBroker,
    AuditFailedError,
    DeviceCounters,
    DeviceSpec,
    validate_spec,
)
from strongroom.audit.entry import AuditAuth, AuditInput, FormatOptions

__all__ = [
    "API_CREATION_REFUSED",
    "AuditAuth",
    "AuditBroker",
    "AuditFailedError",
    "AuditInput",
    "DeviceCounters",
    "DeviceSpec",
    "FormatOptions",
    "validate_spec",
]
