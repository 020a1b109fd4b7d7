"""Policy parameters as data: one YAML file per plan year, validated at load."""
from mutualaid.policy.loader import (
    Band,
    Category,
    Deadline,
    HospPolicy,
    Policy,
    PolicyError,
    RuleDecl,
    WomenPolicy,
    install_draft,
    is_draft,
    load_policies,
    load_policy_file,
    remove_draft,
    policies,
    policy_for_start,
    policy_in_force,
)

__all__ = [
    "Band", "Category", "Deadline", "HospPolicy", "Policy", "PolicyError", "WomenPolicy",
    "RuleDecl", "install_draft", "is_draft", "load_policy_file", "remove_draft", "load_policies", "policies", "policy_for_start",
    "policy_in_force",
]
