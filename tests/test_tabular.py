"""mutualaid.tabular: CSV/xlsx reading, row numbers, file-level problems."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import pickle
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutualaid import i18n
from mutualaid.tabular import EXTRA, Cell, ColumnSpec, FileProblem, open_table
from mutualaid.tabular import _float_text, _SAMPLE_ROWS

COLS = (
    ColumnSpec("claim_no", ("申请编号",)),
    ColumnSpec("member_id_number", ("身份证号",)),
    ColumnSpec("member_name", ("姓名",)),
    ColumnSpec("amount", ("金额",), required=False),
    ColumnSpec("memo", ("摘要",), required=False),
)
ID = "110101199003071234"
EMPTY = Cell("", "empty")


def write_csv(path: Path, rows, encoding="utf-8", delimiter=",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        for r in rows:
            w.writerow(r)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read(path, columns=COLS, **kw):
    with open_table(path, columns, **kw) as t:
        return list(t.rows())


def texts(rows, *cols):
    return [(n, *(c[k].text for k in cols)) for n, c in rows]


def problem(path, columns=COLS, **kw) -> FileProblem:
    with pytest.raises(FileProblem) as e:
        read(path, columns, **kw)
    return e.value


# --- encodings and headers ------------------------------------------------------------

def test_utf8_csv_english_headers(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "member_id_number", "member_name", "amount"],
                                       ["C1", ID, " 王丽 ", "12.50"],
                                       ["C2", ID, "李四", ""]])
    with open_table(f, COLS) as t:
        assert t.encoding == "utf-8" and t.delimiter == ","
        assert t.columns == ["claim_no", "member_id_number", "member_name", "amount"]
        assert t.warnings == [] and t.file_name == "c.csv" and t.path == str(f)
        assert t.fingerprint == hashlib.sha256(f.read_bytes()).hexdigest()
        rows = list(t.rows())
    assert [n for n, _ in rows] == [2, 3]
    first = rows[0][1]
    assert first["member_name"] == Cell("王丽", "text")          # stripped
    assert first["member_id_number"] == Cell(ID, "text")
    assert rows[1][1]["amount"] == EMPTY
    assert first["memo"] == EMPTY                                 # absent optional column
    assert set(first) == {"claim_no", "member_id_number", "member_name", "amount", "memo"}


def test_utf8_bom_csv_chinese_headers(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["申请编号", "身份证号", "姓名", "摘要"], ["C1", ID, "王丽", "备注，含逗号"]],
                  encoding="utf-8-sig")
    assert f.read_bytes().startswith(b"\xef\xbb\xbf")
    with open_table(f, COLS) as t:
        assert t.encoding == "utf-8-sig"
        assert t.columns == ["claim_no", "member_id_number", "member_name", "memo"]
        rows = list(t.rows())
    assert texts(rows, "claim_no", "member_name", "memo") == [(2, "C1", "王丽", "备注，含逗号")]


def test_gb18030_csv_chinese_headers(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["姓名", "申请编号", "身份证号"], ["王丽", "C1", ID], ["欧阳娜娜", "C2", ID]],
                  encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        f.read_bytes().decode("utf-8")
    with open_table(f, COLS) as t:
        assert t.encoding == "gb18030"
        assert t.columns == ["member_name", "claim_no", "member_id_number"]
        rows = list(t.rows())
    assert texts(rows, "claim_no", "member_name") == [(2, "C1", "王丽"), (3, "C2", "欧阳娜娜")]


def test_header_case_spaces_bom_and_order(tmp_path):
    # a BOM inside the first header cell (file saved twice), spaces, upper case, any order
    f = write_bytes(tmp_path / "c.csv", "\ufeff\ufeff Member_Name ,  CLAIM_NO,身份证号 \nA,B,C\n".encode())
    with open_table(f, COLS) as t:
        assert t.columns == ["member_name", "claim_no", "member_id_number"]
        assert texts(list(t.rows()), "member_name", "claim_no", "member_id_number") == [(2, "A", "B", "C")]


def test_full_width_header(tmp_path):
    f = write_bytes(tmp_path / "c.csv", "ＣＬＡＩＭ＿ＮＯ,身份证号,\u3000姓名\u3000\nA,B,C\n".encode())
    with open_table(f, COLS) as t:
        assert t.columns == ["claim_no", "member_id_number", "member_name"]


def test_tab_separated_csv(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["申请编号", "身份证号", "姓名"], ["C1", ID, "王, 丽"]], delimiter="\t")
    with open_table(f, COLS) as t:
        assert t.delimiter == "\t"
        assert texts(list(t.rows()), "member_name") == [(2, "王, 丽")]


def test_unknown_and_blank_header_columns_are_ignored_with_a_warning(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "备注", "", "member_id_number", "member_name", "Remarks"],
                                       ["C1", "note", "x", ID, "王丽", "r"],
                                       ["", "only a remark", "", "", "", ""]])
    with open_table(f, COLS) as t:
        assert t.columns == ["claim_no", "member_id_number", "member_name"]
        assert len(t.warnings) == 2
        assert "备注, Remarks" in t.warnings[0] and "c.csv" in t.warnings[0]
        assert "C 列" in t.warnings[1]
        rows = list(t.rows())
    # the row with text only in ignored columns counts as blank
    assert texts(rows, "claim_no", "member_id_number", "member_name") == [(2, "C1", ID, "王丽")]
    assert EXTRA not in rows[0][1] and "备注" not in rows[0][1]


# --- file-level problems ------------------------------------------------------------------

def test_missing_columns_lists_every_one_with_its_chinese_name(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "amount"], ["C1", "1"]])
    e = problem(f)
    assert e.code == "missing_columns"
    msg = str(e)
    assert msg.startswith("c.csv: ")
    for name, alias in (("member_id_number", "身份证号"), ("member_name", "姓名")):
        assert name in msg and alias in msg
    assert "claim_no" not in e.params["columns"] and "amount" not in msg  # optional: not listed


def test_duplicate_column(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "身份证号", "姓名", "申请编号"], ["C1", ID, "王丽", "C1"]])
    e = problem(f)
    assert e.code == "duplicate_column"
    assert e.params["column"] == "claim_no"
    assert (e.params["first_col"], e.params["second_col"]) == ("A", "D")
    assert "申请编号" in str(e) and "claim_no" in str(e)


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_empty_csv(tmp_path, data):
    assert problem(write_bytes(tmp_path / "c.csv", data)).code == "empty_file"


def test_header_without_rows_is_not_an_error(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "member_id_number", "member_name"]])
    assert read(f) == []


def test_too_large(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "member_id_number", "member_name"], ["C1", ID, "x" * 3000]])
    e = problem(f, max_bytes=2048)
    assert e.code == "too_large" and e.params["limit"] == "2 KB"
    assert "2 KB" in str(e)
    assert read(f, max_bytes=1 << 20)  # under the limit: fine


def test_unreadable(tmp_path):
    assert problem(tmp_path / "missing.csv").code == "unreadable"
    (tmp_path / "folder.csv").mkdir()
    assert problem(tmp_path / "folder.csv").code == "unreadable"


@pytest.mark.parametrize("name", ["roster.xls", "roster.txt", "roster", "roster.xlsm"])
def test_unsupported_type(tmp_path, name):
    f = write_bytes(tmp_path / name, b"claim_no\nC1\n")
    e = problem(f)
    assert e.code == "unsupported_type"
    assert ".xlsx" in str(e)


def test_not_xlsx(tmp_path):
    assert problem(write_bytes(tmp_path / "a.xlsx", b"claim_no,member_id_number\n")).code == "not_xlsx"
    # an old .xls (OLE2 compound file) renamed to .xlsx
    assert problem(write_bytes(tmp_path / "b.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)).code == "not_xlsx"
    with zipfile.ZipFile(tmp_path / "c.xlsx", "w") as z:  # a zip, but no workbook inside
        z.writestr("hello.txt", "hi")
    assert problem(tmp_path / "c.xlsx").code == "not_xlsx"


def test_workbook_named_csv(tmp_path):
    make_xlsx(tmp_path / "w.xlsx", [["claim_no", "member_id_number", "member_name"]])
    f = write_bytes(tmp_path / "w.csv", (tmp_path / "w.xlsx").read_bytes())
    assert problem(f).code == "csv_is_excel"


def test_bad_encoding_is_reported_before_any_row_with_its_line(tmp_path):
    good = "claim_no,member_id_number,member_name\n" + "".join(f"C{i},{ID},王丽\n" for i in range(3))
    f = write_bytes(tmp_path / "c.csv", good.encode() + b"C9,\xff\xfe,x\n")
    with pytest.raises(FileProblem) as e:
        open_table(f, COLS)                       # fails on open: no row was ever returned
    assert e.value.code == "bad_encoding"
    assert e.value.params["line"] == 5
    assert e.value.params["byte"] == len(good.encode()) + 4
    assert "5" in str(e.value) and "UTF-8" in str(e.value)


def test_bad_encoding_in_a_gb18030_file_points_at_the_bad_byte(tmp_path):
    good = "申请编号,身份证号,姓名\nC1,1,王丽\nC2,2,李四\n".encode("gb18030")
    f = write_bytes(tmp_path / "c.csv", good + b"C3,3,\x80\n")
    e = problem(f)
    assert e.code == "bad_encoding" and e.params["line"] == 4


def test_utf16_file_is_bad_encoding(tmp_path):
    f = write_bytes(tmp_path / "c.csv", "申请编号\t身份证号\t姓名\r\n".encode("utf-16"))
    assert problem(f).code == "bad_encoding"


def test_unclosed_quote_near_the_end(tmp_path):
    data = f'claim_no,member_id_number,member_name\nC1,{ID},王丽\nC2,"{ID},李四\nC3,{ID},张三\n'
    f = write_bytes(tmp_path / "c.csv", data.encode())
    with open_table(f, COLS) as t:
        with pytest.raises(FileProblem) as e:
            list(t.rows())
    assert e.value.code == "bad_csv" and e.value.params["row"] == 3


def test_unclosed_quote_swallowing_a_large_file(tmp_path):
    lines = [f"C{i},{ID},王丽\n" for i in range(20000)]
    lines[5] = f'C5,"{ID},王丽\n'
    f = write_bytes(tmp_path / "c.csv", ("claim_no,member_id_number,member_name\n" + "".join(lines)).encode())
    with open_table(f, COLS) as t:
        with pytest.raises(FileProblem) as e:
            list(t.rows())
    assert e.value.code == "bad_csv" and e.value.params["row"] == 7


def test_unclosed_quote_in_the_header(tmp_path):
    f = write_bytes(tmp_path / "c.csv", b'claim_no,"member_id_number,member_name\nC1,2,3\n')
    assert problem(f).code == "bad_csv"


def test_file_problem_message_and_pickling():
    e = FileProblem("too_large", "r.csv", size="3 MB", limit="1 MB")
    assert str(e) == "r.csv: " + i18n.message("too_large", size="3 MB", limit="1 MB")
    assert " / " in str(e) and "1 MB" in str(e)
    back = pickle.loads(pickle.dumps(e))
    assert (back.code, back.file_name, back.params) == (e.code, e.file_name, e.params)
    assert str(FileProblem("empty_file")) == i18n.message("empty_file")


def test_every_file_level_code_has_both_languages():
    for code in ("unreadable", "unsupported_type", "too_large", "empty_file", "bad_encoding", "csv_is_excel",
                 "bad_csv", "not_xlsx", "missing_columns", "duplicate_column", "unknown_columns",
                 "blank_header_columns"):
        zh, en = i18n.MESSAGES[code]
        assert zh and en and zh != en


def test_display_name_decides_type_and_message(tmp_path):
    f = write_csv(tmp_path / "upload-1234", [["claim_no", "member_id_number", "member_name"], ["C1", ID, "王丽"]])
    with open_table(f, COLS, file_name="三月.csv") as t:
        assert t.file_name == "三月.csv"
    e = problem(f, columns=COLS + (ColumnSpec("extra_required", ("必需",)),), file_name="三月.csv")
    assert str(e).startswith("三月.csv: ")


# --- row numbers and cell counts ------------------------------------------------------------

def test_row_numbers_count_blank_rows_and_multiline_cells_once(tmp_path):
    data = ("\n"                                       # row 1: blank before the header
            "claim_no,member_id_number,member_name\n"  # row 2: header
            f"C1,{ID},王丽\n"                            # row 3
            "\n"                                       # row 4: blank
            " , ,  \n"                                 # row 5: only spaces
            ",,\n"                                     # row 6: only delimiters
            f'C2,{ID},"line one\nline two"\n'          # row 7 (two lines of text)
            f"C3,{ID},李四\n")                           # row 8
    f = write_bytes(tmp_path / "c.csv", data.encode())
    with open_table(f, COLS) as t:
        assert t.header_row == 2
        rows = list(t.rows())
    assert texts(rows, "claim_no", "member_name") == [(3, "C1", "王丽"), (7, "C2", "line one\nline two"),
                                                      (8, "C3", "李四")]


def test_crlf_and_no_final_newline(tmp_path):
    data = f"claim_no,member_id_number,member_name\r\nC1,{ID},a\r\n\r\nC2,{ID},b"
    f = write_bytes(tmp_path / "c.csv", data.encode())
    assert texts(read(f), "claim_no", "member_name") == [(2, "C1", "a"), (4, "C2", "b")]


def test_more_and_fewer_cells_than_the_header(tmp_path):
    data = ("claim_no,member_id_number,member_name\n"
            f"C1,{ID},王丽,surplus, more\n"     # extra cells
            f"C2,{ID},李四,,\n"                  # extra but empty: nothing to report
            "C3\n"                               # fewer cells
            ",,,only extra\n")                   # data only beyond the header
    rows = read(write_bytes(tmp_path / "c.csv", data.encode()))
    by = dict(rows)
    assert by[2][EXTRA] == Cell("surplus, more", "text")
    assert EXTRA not in by[3]
    assert by[4]["claim_no"].text == "C3" and by[4]["member_name"] == EMPTY and by[4]["member_id_number"] == EMPTY
    assert by[5][EXTRA].text == "only extra" and by[5]["claim_no"] == EMPTY


def test_trailing_blank_header_cells(tmp_path):
    # Excel sometimes exports trailing empty columns on every line, header included
    data = ("claim_no,member_id_number,member_name,,\n"
            f"C1,{ID},王丽,,\n"
            f"C2,{ID},李四,,late\n")
    with open_table(write_bytes(tmp_path / "c.csv", data.encode()), COLS) as t:
        assert t.warnings == []
        rows = list(t.rows())
    assert EXTRA not in rows[0][1]
    assert rows[1][1][EXTRA].text == "late"


def test_many_rows_mixing_repeated_and_unique_values(tmp_path):
    # past the sample that sorts columns into repeated / unique values, blank and ragged
    # rows still come out right
    n = _SAMPLE_ROWS * 2 + 17
    rows = [["claim_no", "member_id_number", "member_name", "amount", "memo"]]
    for i in range(n):
        rows.append([f"C{i}", f" {i:018d} ", "王丽" if i % 3 else "李四", f"{i}.5", "" if i % 2 else "同一"])
    rows[1500] = []
    rows[1600] = ["   ", "", "", "", ""]
    rows[1700] = ["C1699", "1", "x"]
    rows[1800] = ["C1799", "1", "x", "1", "m", "extra"]
    f = write_csv(tmp_path / "c.csv", rows)
    got = {num: c for num, c in read(f)}
    assert len(got) == n - 2 and 1501 not in got and 1601 not in got
    assert got[2]["member_id_number"] == Cell("0" * 18, "text")
    assert got[1000]["member_name"].text == "王丽" and got[1000]["memo"] == Cell("同一", "text")  # i = 998
    assert got[1001]["member_name"].text == "李四" and got[1001]["memo"] == EMPTY
    assert got[1701]["amount"] == EMPTY and got[1701]["claim_no"].text == "C1699"
    assert got[1801][EXTRA].text == "extra"
    assert got[n + 1]["claim_no"].text == f"C{n - 1}"
    assert all(c[k].kind == ("text" if c[k].text else "empty") for c in got.values() for k in c)


def test_rows_can_be_read_twice_and_not_after_close(tmp_path):
    f = write_csv(tmp_path / "c.csv", [["claim_no", "member_id_number", "member_name"], ["C1", ID, "a"]])
    t = open_table(f, COLS)
    assert list(t.rows()) == list(t.rows())
    assert t.rows_hint == 1
    t.close()
    with pytest.raises(ValueError):
        t.rows()


# --- xlsx -----------------------------------------------------------------------------------

def make_xlsx(path: Path, rows, formulas=()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for ref, formula in formulas:
        ws[ref] = formula
    wb.save(path)
    return path


def test_xlsx_chinese_headers_and_cell_kinds(tmp_path):
    f = make_xlsx(tmp_path / "c.xlsx", [
        ["申请编号", "身份证号", "姓名", "金额", "摘要", "日期"],
        ["C1", ID, " 王丽 ", 1234.5, None, dt.date(2026, 3, 1)],
        ["C2", 110101199003071, "李四", 42, None, dt.datetime(2026, 3, 1, 12, 30)],
        [None, None, None, None, None, None],
        ["C3", 1.1010119900307123e17, "张三", 42.0, "note", "2026-03-01"],
    ], formulas=[("E2", "=D2*2")])
    cols = COLS + (ColumnSpec("when", ("日期",), required=False),)
    with open_table(f, cols) as t:
        assert t.encoding is None and t.format == "xlsx"
        assert t.columns == ["claim_no", "member_id_number", "member_name", "amount", "memo", "when"]
        assert t.fingerprint == hashlib.sha256(f.read_bytes()).hexdigest()
        assert t.rows_hint == 4
        rows = dict(t.rows())
    assert sorted(rows) == [2, 3, 5]
    r2, r3, r5 = rows[2], rows[3], rows[5]
    assert r2["member_id_number"] == Cell(ID, "text")
    assert r2["member_name"] == Cell("王丽", "text")
    assert r2["amount"] == Cell("1234.5", "number")
    assert r2["memo"] == Cell("=D2*2", "formula")
    assert r2["when"] == Cell("2026-03-01", "date")
    assert r3["member_id_number"] == Cell("110101199003071", "number")   # numeric ID: validators reject it
    assert r3["amount"] == Cell("42", "number")
    assert r3["when"] == Cell("2026-03-01 12:30:00", "date")
    assert r3["memo"] == EMPTY
    assert r5["member_id_number"].kind == "number" and "e" not in r5["member_id_number"].text
    assert r5["when"] == Cell("2026-03-01", "text")
    assert r5["memo"] == Cell("note", "text")


def test_xlsx_header_problems_and_extra_cells(tmp_path):
    f = make_xlsx(tmp_path / "a.xlsx", [[None], ["claim_no", "姓名"], ["C1", "x"]])
    e = problem(f)
    assert e.code == "missing_columns" and "身份证号" in str(e) and str(e).startswith("a.xlsx: ")
    f = make_xlsx(tmp_path / "b.xlsx", [["claim_no", "申请编号", "身份证号", "姓名"]])
    assert problem(f).code == "duplicate_column"
    f = make_xlsx(tmp_path / "c.xlsx", [])
    assert problem(f).code == "empty_file"
    f = make_xlsx(tmp_path / "d.xlsx", [[None, None], ["申请编号", "身份证号", "姓名", "备注"],
                                        ["C1", ID, "王丽", "r", None, "surplus"], ["C2", ID, "李四"]])
    with open_table(f, COLS) as t:
        assert t.header_row == 2 and len(t.warnings) == 1 and "备注" in t.warnings[0]
        rows = dict(t.rows())
    assert rows[3][EXTRA] == Cell("surplus", "text")
    assert rows[4]["member_name"].text == "李四" and EXTRA not in rows[4]


def test_xlsx_header_only(tmp_path):
    f = make_xlsx(tmp_path / "c.xlsx", [["申请编号", "身份证号", "姓名"]])
    assert read(f) == []


@pytest.mark.parametrize("value,text", [(1234.5, "1234.5"), (42.0, "42"), (-0.0, "0"), (0.1, "0.1"),
                                        (1e-7, "0.0000001"), (1.1010119900307123e17, "110101199003071230"),
                                        (1e16, "10000000000000000"), (123456789012.25, "123456789012.25")])
def test_float_text(value, text):
    assert _float_text(value) == text


# --- round trip property ------------------------------------------------------------------------

cell_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cell_text, cell_text, cell_text), max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig"]))
def test_csv_round_trip(tmp_path, rows, encoding):
    f = write_csv(tmp_path / "p.csv", [["claim_no", "member_id_number", "member_name"], *rows], encoding=encoding)
    got = read(f)
    expected = [(i + 2, *(s.strip() for s in r)) for i, r in enumerate(rows) if "".join(r).strip()]
    assert texts(got, "claim_no", "member_id_number", "member_name") == expected
    for _, cells in got:
        assert EXTRA not in cells
        for c in cells.values():
            assert c.kind == ("text" if c.text else "empty")
