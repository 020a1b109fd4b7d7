"""Texts of the hardening work (issue 14): merged into mutualaid.i18n by one line at its end."""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "bad_claim_no": ("申请编号只能包含字母、数字和 - _ / . ，最多 {max} 个字符",
                     "a claim number may hold only letters, digits and - _ / . , at most {max} characters"),
    "too_many_rows": ("文件行数过多：一个文件最多 {limit} 行数据，请分成几个文件导入",
                      "the file has too many rows: at most {limit} data rows per file, so split it into several files"),
    "cell_too_long": ("第 {row} 行“{column}”列的内容超过 {limit} 个字符，不予读取",
                      "row {row}, column \"{column}\": a cell of more than {limit} characters; the file is not read"),
    "xlsx_too_big_unpacked": ("Excel 文件解压后过大（{part} 超过 {limit}），请分成几个文件或另存为 CSV",
                              "the workbook unpacks too big ({part} is over {limit}); split it or save it as CSV"),
    "xlsx_compression_ratio": ("Excel 文件压缩比异常（{part} 压缩了 {ratio} 倍，最多允许 {limit} 倍），不予读取",
                               "the workbook is compressed abnormally ({part}: {ratio} times, at most {limit}); it is not read"),
    "parse_too_slow": ("文件读取和校验超过 {seconds} 秒，已停止；请分成几个较小的文件导入",
                       "reading and checking the file took more than {seconds} seconds and was stopped; split it into smaller files"),
    "parse_out_of_memory": ("文件读取和校验所需内存超过限制，已停止；请分成几个较小的文件导入",
                            "reading and checking the file needed more memory than allowed and was stopped; split it into smaller files"),
    "more_errors": ("另有 {count} 个错误未列出（只列出前 {shown} 个）", "{count} more errors not listed (only the first {shown} are)"),
    "id_future_birth_date": ("身份证号中的出生日期晚于今天", "the birth date in the ID number is in the future"),
}

UI: dict[str, tuple[str, str]] = {
    "err.db_busy": ("数据库正忙（正在导入大文件），请稍后重试", "the database is busy (a big file is being imported); try again in a moment"),
    "recon.audit_entries": ("审计日志条数（生成时）", "Audit log entries (when written)"),
    "recon.audit_head": ("审计链末端哈希", "Audit chain head"),
    "bad_password": ("密码至少 {min} 个字符，且不能是常见密码", "the password needs at least {min} characters and must not be a common password"),
}
