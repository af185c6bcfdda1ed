"""The encryption barrier: everything above it sees plaintext, everything below it sees AES-256-GCM.

Layer: above physical, below seal. Imports physical, crypto, util and errors only.

Invariant: no value written through the barrier reaches physical storage unencrypted.
"""

from strongroom.barrier.aes_gcm import AESGCMBarrier, KeyStatus
from strongroom.barrier.keyring import Keyring, RotationConfig, TermKey
from strongroom.barrier.view import BarrierView

__all__ = ["AESGCMBarrier", "BarrierView", "KeyStatus", "Keyring", "RotationConfig", "TermKey"]
