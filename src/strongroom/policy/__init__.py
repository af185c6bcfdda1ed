"""ACL policies: the model, the HCL policy parser, the compiled ACL and the policy store.

Layer: policy (a sibling of tokens, router, audit). Imports hcl, logical, util and errors; never core.
"""

from strongroom.policy.acl import ACL, Authorization
from strongroom.policy.default import DEFAULT_POLICY
from strongroom.policy.model import Capability, PathRule, Policy
from strongroom.policy.parser import PolicyParseError, parse_policy
from strongroom.policy.store import PolicyStore

__all__ = [
    "ACL",
    "DEFAULT_POLICY",
    "Authorization",
    "Capability",
    "PathRule",
    "Policy",
    "PolicyParseError",
    "PolicyStore",
    "parse_policy",
]
