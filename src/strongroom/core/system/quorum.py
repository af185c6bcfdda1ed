"""OpenBao's authenticated key-holder endpoints: sys/generate-root-token/* (a new root token) and
sys/rotate/root/* (new unseal key shares), plus sys/decode-token. Layer: core (framework-declared paths).

They replace the unauthenticated sys/generate-root/* and sys/rekey/*, which listeners turn off by default:
here a request passes the pipeline like any other, so the ACL decides who may start, feed or cancel an
attempt and the audit log records it; the key shares still decide whether it completes. Both families share
their one attempt with the unauthenticated endpoints, as OpenBao's do.
Invariant: shares, the OTP and the new root token never reach a log or an error message; the root token
leaves only XORed with the OTP.
"""

from __future__ import annotations

from typing import Any

from strongroom.core.keyholders import decode_key, decode_token
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

UNAUTHENTICATED = ("decode-token",)

_GENERATE_ROOT_STATUS = ("started", "complete", "progress", "required", "otp", "otp_length")
_GENERATE_ROOT_UPDATE = ("started", "complete", "progress", "required", "nonce", "encoded_token",
                         "pgp_fingerprint")  # fmt: skip
_ROTATE_DONE = ("complete", "nonce", "backup", "pgp_fingerprints", "verification_required",
                "verification_nonce", "keys", "keys_base64")  # fmt: skip


def _generate_root_status(body: dict[str, Any]) -> Response:
    """OpenBao's generate-root-token status: the attempt's nonce and fingerprint only once one is started."""
    data = {name: body[name] for name in _GENERATE_ROOT_STATUS}
    if body["nonce"]:
        data |= {"nonce": body["nonce"], "pgp_fingerprint": body["pgp_fingerprint"]}
    return Response(data=data)


def _share(data: FieldData) -> tuple[bytes, str]:
    nonce, key = data.get("nonce") or "", data.get("key") or ""
    if not nonce:
        raise InvalidRequestError("nonce is required")
    if not key:
        raise InvalidRequestError("key is required")
    return decode_key(key.strip()), nonce


def paths(services: Services) -> list[Path]:
    """The authenticated generate-root and rotate-root paths, and sys/decode-token."""
    generate_root, rekey = services.generate_root, services.rekey

    async def root_status(_request: Request, _data: FieldData) -> Response:
        return _generate_root_status(await generate_root.status())

    async def root_start(_request: Request, data: FieldData) -> Response:
        return _generate_root_status(
            await generate_root.start(data.get("otp") or "", data.get("pgp_key") or "")
        )

    async def root_cancel(_request: Request, _data: FieldData) -> None:
        generate_root.cancel()

    async def root_update(_request: Request, data: FieldData) -> Response:
        key, nonce = _share(data)
        body = await generate_root.update(key, nonce)
        answer = {name: body[name] for name in _GENERATE_ROOT_UPDATE}
        return Response(data=answer | {"started": True, "nonce": nonce})

    async def decode(_request: Request, data: FieldData) -> Response:
        encoded, otp = data.get("encoded_token") or "", data.get("otp") or ""
        if not encoded or not otp:
            raise InvalidRequestError("provided 'encoded_token' or 'otp' is empty")
        return Response(data={"token": decode_token(encoded, otp)})

    async def rotate_status(_request: Request, _data: FieldData) -> Response:
        return Response(data=await rekey.rotation_status())

    async def rotate_start(_request: Request, data: FieldData) -> Response:
        if rekey.in_progress:
            raise InvalidRequestError("rotation already in progress")
        await rekey.start(
            data.get("secret_shares") or 0,
            data.get("secret_threshold") or 0,
            pgp_keys=data.get("pgp_keys") or None,
            backup=bool(data.get("backup")),
            require_verification=bool(data.get("require_verification")),
        )
        return Response(data=await rekey.rotation_status())

    async def verify_status(_request: Request, _data: FieldData) -> Response:
        return Response(data=rekey.verification_status())

    async def verify_update(_request: Request, data: FieldData) -> Response:
        key, nonce = _share(data)
        return Response(data=await rekey.verify(key, nonce))

    async def verify_restart(_request: Request, _data: FieldData) -> Response:
        return Response(data=rekey.cancel_verification())

    async def backup_read(_request: Request, _data: FieldData) -> Response:
        backup = await rekey.backup()
        if backup is None:
            raise InvalidRequestError("no backed-up keys found")
        return Response(data=backup)

    async def backup_delete(_request: Request, _data: FieldData) -> None:
        await rekey.delete_backup()

    async def rotate_cancel(_request: Request, _data: FieldData) -> None:
        rekey.cancel()

    async def rotate_update(_request: Request, data: FieldData) -> Response:
        key, nonce = _share(data)
        if not rekey.in_progress:
            raise InvalidRequestError("no rotation in progress")
        body = await rekey.update(key, nonce)
        if not body.get("complete"):
            return Response(data=await rekey.rotation_status())
        return Response(data={name: body.get(name, "") for name in _ROTATE_DONE})

    share_fields = {
        "key": Field(FieldType.STRING, "Unseal key share."),
        "nonce": Field(FieldType.STRING, "Nonce of the attempt in progress."),
    }
    root_help = "Reads status, initializes, or cancels a root token generation process."
    rotate_help = (
        "Rotates the root key and the unseal key shares, authorized by a quorum of the current ones."
    )
    return [
        Path("generate-root-token/attempt",
             fields={"otp": Field(FieldType.STRING, "One-time password for encoding the root token."),
                     "pgp_key": Field(FieldType.STRING, "PGP key for encrypting the root token.")},
             operations={Operation.READ: root_status, Operation.UPDATE: root_start,
                         Operation.DELETE: root_cancel},
             synopsis=root_help),
        Path("generate-root-token/update", fields=share_fields, operations={Operation.UPDATE: root_update},
             synopsis=root_help),
        Path("decode-token",
             fields={"encoded_token": Field(FieldType.STRING, "The encoded token from generate-root-token."),
                     "otp": Field(FieldType.STRING, "The OTP used for decoding.")},
             operations={Operation.UPDATE: decode},
             synopsis="Decodes the encoded token with the otp."),
        Path("rotate/root/init",
             fields={"secret_shares": Field(FieldType.INT, "The number of shares to split the key into."),
                     "secret_threshold": Field(FieldType.INT, "The number of shares needed to rebuild it."),
                     "pgp_keys": Field(FieldType.COMMA_STRING_LIST, "PGP keys to encrypt the shares with."),
                     "backup": Field(FieldType.BOOL, "Keep a backup of the PGP-encrypted shares."),
                     "require_verification": Field(FieldType.BOOL, "Verify the new shares first.")},
             operations={Operation.READ: rotate_status, Operation.UPDATE: rotate_start,
                         Operation.DELETE: rotate_cancel},
             synopsis=rotate_help),
        Path("rotate/root/update", fields=share_fields, operations={Operation.UPDATE: rotate_update},
             synopsis=rotate_help),
        Path("rotate/root/verify", fields=share_fields,
             operations={Operation.READ: verify_status, Operation.UPDATE: verify_update,
                         Operation.DELETE: verify_restart},
             synopsis="Verifies the new unseal key shares of a rotation before they come into force."),
        *(Path(path, operations={Operation.READ: backup_read, Operation.DELETE: backup_delete},
               synopsis="The PGP-encrypted unseal key shares the last rotation with backup kept.")
          for path in ("rotate/root/backup", "rekey/backup")),
    ]  # fmt: skip
