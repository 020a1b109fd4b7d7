"""The one translation table: message codes -> (Chinese, English) templates, and labels.

Code stays English; what users read goes through here. Add entries, never inline text.
"""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # --- file-level problems (exit 2) -------------------------------------------------
    # raised by mutualaid.tabular as FileProblem; shown after "<file name>: "
    "unreadable": ("无法打开或读取该文件（文件不存在、是文件夹，或没有读取权限）", "the file cannot be opened or read (it does not exist, is a folder, or may not be read)"),
    "unsupported_type": ("不支持这种文件类型（{ext}），请使用 .csv 或 .xlsx 文件；旧版 .xls 请先在 Excel 中另存为 .xlsx", "this type of file ({ext}) is not supported; use a .csv or .xlsx file, and save an old .xls as .xlsx in Excel first"),
    "too_large": ("文件太大（{size}），最大允许 {limit}，请分成几个文件导入", "the file is too large ({size}); the limit is {limit}, so split it into several files"),
    "empty_file": ("文件是空的，或者没有表头行", "the file is empty or has no header row"),
    "bad_encoding": ("无法识别文件的文字编码：第 {line} 行附近（第 {byte} 个字节）有无法识别的字符。请在 Excel 或 WPS 中另存为“CSV UTF-8”格式后重新导入", "the text encoding of the file is not recognised: there are unreadable characters near line {line} (byte {byte}); save the file as \"CSV UTF-8\" in Excel or WPS and import it again"),
    "csv_is_excel": ("文件扩展名是 .csv，但内容是 Excel 工作簿。请把扩展名改为 .xlsx，或在 Excel 中另存为“CSV UTF-8”格式", "the file is named .csv but is an Excel workbook; rename it to .xlsx, or save it as \"CSV UTF-8\" in Excel"),
    "bad_csv": ("第 {row} 行有一个英文双引号（\"）没有配对，其后的内容无法分成单元格。请检查该行的引号，或在 Excel 中重新另存为 CSV", "row {row} has a double quote (\") that is never closed, so what follows cannot be split into cells; check the quotes in that row, or save the file again as CSV from Excel"),
    "not_xlsx": ("不是有效的 Excel .xlsx 文件（可能是改了扩展名的 .xls 文件、加了密码，或文件已损坏）。请在 Excel 中另存为 .xlsx（不设密码）或“CSV UTF-8”格式", "this is not a valid Excel .xlsx workbook (perhaps a renamed .xls, password-protected, or damaged); save it in Excel as .xlsx without a password, or as \"CSV UTF-8\""),
    "missing_columns": ("缺少必需的列：{columns}。表头可以用中文列名或英文列名", "required columns are missing: {columns}. Headers may use the Chinese or the English column names"),
    "duplicate_column": ("“{first}”（{first_col} 列）和“{second}”（{second_col} 列）是同一列 {column}，请只保留一列", "\"{first}\" (column {first_col}) and \"{second}\" (column {second_col}) are the same column {column}; keep only one of them"),
    # warnings from mutualaid.tabular (the file is still imported)
    "unknown_columns": ("以下列无法识别，已忽略：{columns}", "these columns are not recognised and were ignored: {columns}"),
    "blank_header_columns": ("{columns} 列没有表头，其中的内容已忽略", "column(s) {columns} have no header; anything in them was ignored"),
    # --- row-level validation ---------------------------------------------------------
    "required": ("必填项为空", "is required"),
    "bad_date": ("日期无效，应为 YYYY-MM-DD 格式的真实日期", "is not a real date in YYYY-MM-DD form"),
    "bad_amount": ("金额无效：应为非负数，最多两位小数", "is not a non-negative amount with at most two decimals"),
    "bad_signed_amount": ("金额无效：最多两位小数", "is not an amount with at most two decimals"),
    "id_numeric_cell": ("身份证号是数字格式（Excel 只保留15位），请设为文本后重新填写", "ID number is a numeric cell (Excel keeps only 15 digits); enter it as text"),
    "id_length": ("身份证号应为18位", "ID number must have 18 characters"),
    "id_chars": ("身份证号只能是17位数字加一位数字或X", "ID number must be 17 digits and a digit or X"),
    "id_birth_date": ("身份证号中的出生日期无效", "birth date inside the ID number is not a real date"),
    "id_checksum": ("身份证号校验码错误", "ID number check character is wrong"),
    "formula_cell": ("单元格是公式，请粘贴为数值", "cell holds a formula; paste it as a value"),
    "bad_product": ("保障项目应为 HOSP/住院医疗互助 或 WOMEN/女性安康互助", "product must be HOSP or WOMEN"),
    "bad_units": ("份数应为 1 到 {max} 的整数", "units must be a whole number from 1 to {max}"),
    "end_before_start": ("保障止期早于保障起期", "end_date is before start_date"),
    "period_too_long": ("保障期超过366天", "coverage period is longer than 366 days"),
    "no_policy": ("没有 {year} 年的保障政策", "there is no policy version for {year}"),
    "premium_mismatch": ("缴费金额应为 {expected}", "premium_paid must be {expected}"),
    "bad_bank_account": ("银行卡号应为12到19位数字", "bank account must be 12 to 19 digits"),
    "women_not_female": ("女性安康互助只限女性参保", "WOMEN enrollment needs a female ID number"),
    "women_age": ("参保时年龄应在 {min}–{max} 岁之间（实际 {age} 岁）", "age on start_date must be {min}–{max} (is {age})"),
    "enrollment_overlap": ("与同一会员同一项目的另一参保期重叠（{other}）", "overlaps another enrollment of this member and product ({other})"),
    "conflict": ("该记录已存在且内容不同（{key}），未覆盖", "a record with this key already exists with different content ({key}); not overwritten"),
    "duplicate_in_file": ("与本文件第 {first} 行重复", "duplicates row {first} of this file"),
    "name_mismatch_member": ("姓名与已登记的会员姓名（{name}）不同", "name differs from the member already registered ({name})"),
    "unit_name_mismatch": ("单位名称与已登记的名称（{name}）不同", "unit name differs from the one registered ({name})"),
    "submitted_before_event": ("申请日期早于{event}", "submitted_date is before the {event}"),
    "discharge_before_admission": ("出院日期早于入院日期", "discharge_date is before admission_date"),
    "bad_icd10": ("诊断编码应为 ICD-10 格式，如 C50、C50.9、D07.1", "diagnosis_code must be ICD-10 like C50, C50.9, D07.1"),
    "bad_cause": ("住院原因无效", "cause is not one of the listed causes"),
    "costs_dont_add_up": ("医疗总费用应等于医保支付+政策内自付+自费（{expected}）", "total_cost must equal insurance_paid + in_policy_self_pay + out_of_policy_self_pay ({expected})"),
    "bad_yes_no": ("应为 Y/N（是/否）", "must be Y or N"),
    "bad_surgery": ("手术类型无效", "surgery is not one of the listed types"),
    "extra_cells": ("该行的单元格比表头多", "this row has more cells than the header"),
    "bad_entry_type": ("类型应为 OPENING_BALANCE、CONTRIBUTION、SUBSIDY、INTEREST、PAYOUT、REVERSAL、FEE、ADJUSTMENT 之一", "entry_type must be one of OPENING_BALANCE, CONTRIBUTION, SUBSIDY, INTEREST, PAYOUT, REVERSAL, FEE, ADJUSTMENT"),
    "bad_ledger_product": ("保障项目应为 HOSP、WOMEN 或留空", "product must be HOSP, WOMEN or empty"),
    "amount_not_positive": ("金额必须大于零（只有 ADJUSTMENT 可为负数）", "amount must be positive (only ADJUSTMENT may be negative)"),
    "amount_zero": ("金额不能为零", "amount cannot be zero"),
    "reference_required": ("{entry_type} 必须填写关联编号（{what}）", "{entry_type} needs a reference ({what})"),
    "reversal_without_payout": ("冲回没有对应的在先支付（{reference}）", "REVERSAL has no earlier PAYOUT for {reference}"),
    "reversal_exceeds_paid": ("冲回金额超过已支付金额 {paid}", "REVERSAL is more than the {paid} paid"),
    "opening_not_first": ("期初余额必须是最早的一笔，且只能有一笔", "OPENING_BALANCE must be the first line of the history, and only one"),
    "before_opening": ("记账日期早于期初余额日期 {date}", "entry_date is before the OPENING_BALANCE of {date}"),
    "other_product_column": ("该列属于另一保障项目，应留空", "this column belongs to the other product and must be empty"),
}


def message(code: str, **params: object) -> str:
    """'中文 / English' for one code; unknown codes are returned as they are."""
    zh, en = MESSAGES.get(code, (code, code))
    return f"{zh.format(**params)} / {en.format(**params)}"


# Labels users read, keyed by the English term used in code.
LABELS_ZH: dict[str, str] = {
    "HOSP": "住院医疗互助",
    "WOMEN": "女性安康互助",
    "APPROVED": "已核准",
    "REJECTED": "已拒付",
    "PENDING_REVIEW": "待复核",
    "RECEIVED": "已受理",
}
