"""Physical storage: untrusted bytes at rest. Layer: bottom (stdlib and drivers only).

Invariant: nothing here sees plaintext; the barrier above encrypts every value before it arrives.
"""
