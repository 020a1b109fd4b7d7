"""Texts of the hardening work (issue 14): merged into mutualaid.i18n by one line at its end."""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "bad_claim_no": ("申请编号只能包含字母、数字和 - _ / . ，最多 {max} 个字符",
                     "a claim number may hold only letters, digits and - _ / . , at most {max} characters"),
    "id_future_birth_date": ("身份证号中的出生日期晚于今天", "the birth date in the ID number is in the future"),
}

UI: dict[str, tuple[str, str]] = {
    "recon.audit_entries": ("审计日志条数（生成时）", "Audit log entries (when written)"),
    "recon.audit_head": ("审计链末端哈希", "Audit chain head"),
    "bad_password": ("密码至少 {min} 个字符，且不能是常见密码", "the password needs at least {min} characters and must not be a common password"),
}
