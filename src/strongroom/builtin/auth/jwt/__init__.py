"""The jwt auth method (also mounted as "oidc"): log in with a JWT signed by a configured key, a JWKS URL or
an OIDC provider's discovered keys, or through the OIDC browser login against that provider (auth_url,
callback). Layer: builtin (imports framework, logical, util; PyJWT, httpx)."""
