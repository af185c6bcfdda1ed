"""The seal: turns unseal key shares into the root key that opens the barrier.

Layer: above barrier. Imports barrier, physical, crypto, util and errors only.
"""

from strongroom.seal.config import SealConfig
from strongroom.seal.manager import SealManager, SealStatus

__all__ = ["SealConfig", "SealManager", "SealStatus"]
