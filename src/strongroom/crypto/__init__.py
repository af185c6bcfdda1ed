"""Cryptographic primitives: AEAD, Shamir secret sharing, salted HMAC. Bottom layer: stdlib and
`cryptography` only; nothing here knows about storage, paths or requests.
"""
