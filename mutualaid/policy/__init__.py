"""Policy parameters as data: one YAML file per plan year, validated at load."""
from mutualaid.policy.loader import (
    Band,
    Category,
    Deadline,
    HospPolicy,
    Policy,
    PolicyError,
    WomenPolicy,
    load_policies,
    policies,
    policy_for_start,
)

__all__ = [
    "Band", "Category", "Deadline", "HospPolicy", "Policy", "PolicyError", "WomenPolicy",
    "load_policies", "policies", "policy_for_start",
]
