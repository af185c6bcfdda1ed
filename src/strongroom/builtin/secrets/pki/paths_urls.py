"""config/urls and config/cluster: the URLs issued certificates and CRLs point at, and the cluster addresses
their templates stand for. Layer: builtin.

Imports framework, logical, errors and the engine's modules. As in Vault, URLs are checked when written
unless templating is on; templated URLs are checked when a certificate is issued (a write only warns).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.builtin.secrets.pki.certs import URL_LISTS, Urls, invalid_url
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

_DESCRIPTIONS = {
    "issuing_certificates": "Comma-separated list of URLs to be used for the issuing certificate attribute.",
    "crl_distribution_points": (
        "Comma-separated list of URLs to be used for the CRL distribution points attribute."
    ),
    "delta_crl_distribution_points": (
        "Comma-separated list of URLs to be used for the Delta CRL distribution points attribute."
    ),
    "ocsp_servers": "Comma-separated list of URLs to be used for the OCSP servers attribute.",
}


def urls_data(urls: Urls) -> dict[str, Any]:
    return {
        **{name: list(getattr(urls, name)) for name in sorted(URL_LISTS)},
        "enable_templating": urls.enable_templating,
    }


def paths(store: PkiStore) -> list[Path]:
    """The URL and cluster configuration paths."""

    async def read_urls(request: Request, data: FieldData) -> Response | None:
        return Response(data=urls_data(await store.urls()))

    async def write_urls(request: Request, data: FieldData) -> Response | None:
        urls = await store.urls()
        changes: dict[str, Any] = {}
        templating, given = data.get_ok("enable_templating")
        if given:
            changes["enable_templating"] = templating
        for name in URL_LISTS:
            value, given = data.get_ok(name)
            if given:
                changes[name] = tuple(value)
        urls = replace(urls, **changes)
        warnings: tuple[str, ...] = ()
        if urls.enable_templating:
            issuers = await store.issuers()
            if issuers:
                path, aia_path = await store.cluster_config()
                try:
                    urls.resolved(cluster_path=path, aia_path=aia_path, issuer_id=issuers[0].id)
                except ValueError as exc:
                    warnings = (
                        f"issuance may fail: {exc}\n\nConsider setting the cluster-local address if it is "
                        "not already set.",
                    )
        else:
            for name in URL_LISTS:
                bad = invalid_url(getattr(urls, name))
                if bad:
                    raise InvalidRequestError(
                        f"invalid URL found in Authority Information Access (AIA) parameter {name}: {bad}"
                    )
        await store.save_urls(urls)
        return Response(data=urls_data(urls), warnings=warnings)

    async def read_cluster(request: Request, data: FieldData) -> Response | None:
        path, aia_path = await store.cluster_config()
        return Response(data={"aia_path": aia_path, "path": path})

    async def write_cluster(request: Request, data: FieldData) -> Response | None:
        path, aia_path = await store.cluster_config()
        given_path, has_path = data.get_ok("path")
        if has_path:
            path = given_path
            if invalid_url([path]) and path:
                raise InvalidRequestError(f"invalid, non-URL path given to cluster: {path}")
        given_aia, has_aia = data.get_ok("aia_path")
        if has_aia:
            aia_path = given_aia
            if invalid_url([aia_path]) and aia_path:
                raise InvalidRequestError(f"invalid, non-URL aia_path given to cluster: {aia_path}")
        await store.save_cluster_config(path, aia_path)
        return Response(data={"aia_path": aia_path, "path": path})

    url_fields = {name: Field(FieldType.COMMA_STRING_LIST, text) for name, text in _DESCRIPTIONS.items()}
    url_fields["enable_templating"] = Field(
        FieldType.BOOL,
        "Whether or not to enable templating of the above AIA fields: {{cluster_path}}, {{cluster_aia_path}} "
        "and {{issuer_id}}.",
    )
    return [
        Path(
            "config/urls",
            fields=url_fields,
            operations={Operation.READ: read_urls, Operation.UPDATE: write_urls},
            synopsis="Set the URLs for the issuing CA, CRL and Delta CRL distribution points, and OCSP.",
            description="The URLs are embedded in certificates issued after the change.",
        ),
        Path(
            "config/cluster",
            fields={
                "path": Field(
                    FieldType.STRING,
                    "Canonical URI to this mount on this performance replication cluster's external address.",
                ),
                "aia_path": Field(
                    FieldType.STRING,
                    "Optional URI to this mount's AIA distribution point; may refer to an external "
                    "non-OpenBao responder.",
                ),
            },
            operations={Operation.READ: read_cluster, Operation.UPDATE: write_cluster},
            synopsis="Set cluster-local configuration, including address to this PR cluster.",
            description="The addresses config/urls' {{cluster_path}} and {{cluster_aia_path}} stand for.",
        ),
    ]
