"""Deterministic generator of realistic data sets in the file formats of ``files.md``.

``generate(scale, seed, out_dir)`` writes, into ``out_dir``:

- ``roster_2025.csv``, ``roster_2026.csv`` — one enrollment roster per plan year (the
  calendar year of ``start_date``), both products, every unit, sorted by unit code,
  product and member. A clerk would send one roster per unit; one file per year keeps the
  import count small and each file is still a valid roster.
- ``claims_YYYY-MM.csv`` — one claim batch per month of ``submitted_date``, in order.
- ``ledger.csv`` — the fund ledger from the opening balance to the last batch month's end.
- ``settlements_YYYY-MM.csv`` — only with ``settlements=True``: the medical-insurance
  settlement extract (``mutualaid.settlements.generate``); its stays leave the batches.

English headers exactly as in ``files.md``, UTF-8 without BOM, ``\\n`` line ends. Every
amount is built as integer fen and written as an exact two-decimal string.

Scales: ``"tongliao"`` mirrors the reference year 2025: 135,500 HOSP and 54,000 WOMEN
members, ~7,700 claims in all the batches, ~7,100 of them approved with ~11 M yuan by the
policy (plus ~3 M pending review: payouts of 20,000 or more, name differences…);
``"region"`` the Inner Mongolia scheme (1.1 M HOSP members, ~45,000 claims with a 2025
event); an integer is the number of HOSP members (at least 200), scaled like ``tongliao``.

The main year is 2025: all 2025 enrollments are first enrollments (there is no 2024 policy
version), so events are placed after the waiting period except for the deliberate
waiting-period claims. Most members renew into 2026 (participation year 2) and a few
claims have an event in January 2026. Regular claims are submitted by ``SUBMIT_END``
(2026-03-31); the late filings fall one to six weeks after their policy deadline, so the
last batches (2026-04, 2026-05) hold only those.

Messiness on purpose, a small share each, counted in ``figures["messy"]``: late filings
(R04), the same stay filed twice (R06), a changed character in the name (V02), unknown ID
numbers (R01), events inside the waiting period (R03), excluded causes (R05), WOMEN
diagnoses that are not covered (R08), stays over 90 days (V04), no pathology (V03).

The ledger pays the claims that a simplified adjudication (``_Estimator``, following
policy.md with the parameters of ``mutualaid.policy``) finds ``APPROVED`` with a payout,
assuming each monthly batch is decided on the last day of its month; payment follows
3–20 days later (a few 5–11 weeks later). Claims that would go to review are not paid.
A few payouts are returned (``REVERSAL``) and paid again; exactly one claim is paid twice.
Besides: the opening balance, one ``CONTRIBUTION`` per unit, product and start date
(reference = unit code, amounts = the roster's premiums), four subsidies, a monthly bank
``FEE`` and monthly ``INTEREST``. Vouchers ``V2025-000001``…, numbered per year.

``figures`` (for printing beside ``REFERENCE``): ``units``, ``hosp_members`` and
``women_members`` (enrollments starting in 2025), ``claims`` (all rows), ``claims_2025``
(rows with a 2025 event), ``claims_paid`` / ``payout_yuan`` (claims the estimate approves
with a payout, and their total — what the demo counts after adjudicating every batch),
``estimated_pending``, the other ``estimated_*`` totals and the ``messy`` counts; counts
are ints, money is Decimal.

Unit codes and claim numbers start with ``TL`` (``NM`` at the region scale). Stale
``claims_YYYY-MM.csv`` and ``roster_YYYY.csv`` files in ``out_dir`` are removed first.
Speed: ``idnumber.make`` (~10 µs a call) is the largest single cost; above 200,000
persons it runs in forked worker processes while the claims and ledger are computed, and
the two rosters are written by forked children (fork only when no other thread runs;
otherwise everything runs in this process, with the same bytes).
"""
from __future__ import annotations

import bisect
import calendar
import datetime as dt
import math
import multiprocessing as mp
import os
import re
import threading
import warnings
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mutualaid.claims.adjudication import RENEWAL_GAP_DAYS  # policy.md §1: continuous renewal
from mutualaid.claims.status import APPROVED, PENDING_REVIEW, REJECTED, Product
from mutualaid.idnumber import age_on, make
from mutualaid.money import from_fen, round_fen, to_fen
from mutualaid.policy import HospPolicy, Policy, WomenPolicy, policies

__all__ = [
    "CLAIM_COLUMNS", "LEDGER_COLUMNS", "REFERENCE", "ROSTER_COLUMNS", "SCALES",
    "GeneratedSet", "Scale", "generate", "resolve_scale",
]

# --- file formats (files.md) ------------------------------------------------------------
ROSTER_COLUMNS = (
    "unit_code", "unit_name", "member_id_number", "member_name", "product", "units",
    "start_date", "end_date", "premium_paid", "bank_account",
)
CLAIM_COLUMNS = (
    "claim_no", "product", "member_id_number", "member_name", "submitted_date",
    "admission_date", "discharge_date", "hospital_name", "diagnosis_code", "cause",
    "total_cost", "insurance_paid", "in_policy_self_pay", "out_of_policy_self_pay",
    "diagnosis_date", "pathology_confirmed", "surgery",
)
LEDGER_COLUMNS = ("entry_date", "voucher_no", "entry_type", "product", "amount", "reference", "memo")

# --- reference figures (spec README: Tongliao 2025) for printing beside ours -------------
REFERENCE = {
    "hosp_members": 135_500,
    "women_members": 54_000,
    "claims_paid": 7_748,
    "payout_yuan": Decimal("11430000.00"),
}


@dataclass(frozen=True)
class Scale:
    name: str
    hosp_members: int     # HOSP enrollments starting in 2025
    women_members: int    # WOMEN enrollments starting in 2025
    hosp_claims: int      # HOSP claim rows with a 2025 event (messy ones included)
    women_claims: int     # WOMEN claim rows with a 2025 event
    prefix: str           # unit codes and claim numbers: TL0001, TL2025-000123
    province: bool        # ID regions, unit places and hospitals of all Inner Mongolia


SCALES: dict[str, Scale] = {
    "tongliao": Scale("tongliao", 135_500, 54_000, 6_300, 850, "TL", False),
    "region": Scale("region", 1_100_000, 440_000, 38_500, 6_500, "NM", True),
}


def resolve_scale(scale: str | int) -> Scale:
    """A named scale, or an integer number of HOSP members scaled like ``tongliao``."""
    if isinstance(scale, str) and not scale.isdigit():
        try:
            return SCALES[scale]
        except KeyError:
            raise ValueError(f"unknown scale {scale!r}; use one of {sorted(SCALES)} or a number") from None
    size = int(scale)
    if size < 200:
        raise ValueError("an integer scale needs at least 200 HOSP members")
    ref = SCALES["tongliao"]
    ratio = size / ref.hosp_members
    return Scale(f"size-{size}", size, round(ref.women_members * ratio),
                 max(1, round(ref.hosp_claims * ratio)), max(1, round(ref.women_claims * ratio)),
                 ref.prefix, False)


@dataclass
class GeneratedSet:
    out_dir: Path
    rosters: list[Path]
    claim_batches: list[Path]          # claims_YYYY-MM.csv, in month order
    ledger: Path
    figures: dict = field(default_factory=dict)
    settlements: list[Path] = field(default_factory=list)  # settlements_YYYY-MM.csv (generate(settlements=True))


# --- calendar of the generated world -------------------------------------------------------
MAIN_YEAR = 2025
YEAR_START = dt.date(2025, 1, 1)
YEAR_END = dt.date(2025, 12, 31)
NEXT_START = dt.date(2026, 1, 1)
EARLY_NEXT_END = dt.date(2026, 1, 31)   # last event date of the early-2026 claims
SUBMIT_END = dt.date(2026, 3, 31)       # last submission of the regular (in-time) claims

# --- shares and shapes (tuned so that tongliao lands near the reference figures) ----------
FEMALE_SHARE = 0.47
MIDYEAR_2025_SHARE = 0.10       # 2025 starters on the 1st of Feb..May
RENEW_SHARE = 0.93              # HOSP members renewing into 2026 (older ones less)
NEW_2026_SHARE = 0.07           # new members in 2026, as a share of 2025 members
WOMEN_RENEW_SHARE = 0.95
NEW_WOMEN_SHARE = 0.80          # eligible new women joining WOMEN in 2026
WOMEN_TWO_UNITS = 0.35          # WOMEN members with the maximum units (2), the rest 1
BANK_SHARE = 0.94
EARLY_NEXT_FACTOR = ((EARLY_NEXT_END - NEXT_START).days + 1) / 365   # early-2026 claims per 2025 claim

MESSY = {   # share of the claim rows of a kind
    "late_filing": 0.010, "duplicate": 0.008, "name_typo": 0.010,
    "unknown_member": 0.006, "waiting_period": 0.009,
}
CAUSES = (("illness", 0.885), ("accident", 0.09), ("work_injury", 0.008), ("third_party", 0.006),
          ("maternity", 0.007), ("cosmetic", 0.001), ("self_harm", 0.003))
BASE_MEDIAN_YUAN = 2000          # in-policy self-pay: lognormal body
BASE_SIGMA = 0.55
TAIL_SHARE = 0.022               # serious cases: second lognormal
TAIL_MEDIAN_YUAN = 12000
TAIL_SIGMA = 0.80
LONG_STAY_SHARE = 0.002
CATASTROPHIC_PER_MEMBER = 1 / 60_000       # 2025 stays paid near the annual cap
CATASTROPHIC_NEXT_PER_MEMBER = 1 / 400_000  # early-2026 stays paying 250,000-345,000
INTEREST_PER_MONTH = (35, 120_000)          # 0.35 % a year on the month-end balance
TRANSFER_FEE_FEN = 100                      # bank fee per payout transfer

# --- name and place pools -------------------------------------------------------------------
_HAN_SURNAMES = (
    "王8 李8 张7.5 刘6 赵3 杨3 孙2.5 高2 于1.8 马1.6 郭1.5 陈1.5 徐1.2 周1.2 吴1.1 韩1 朱1 "
    "孟.9 宋.9 胡.8 董.8 姜.8 白.8 冯.7 曹.7 田.7 何.6 梁.6 许.6 吕.6 苏.6 贾.6 魏.6 任.6 崔.6 "
    "林.5 罗.5 唐.5 程.5 袁.5 卢.5 丁.5 杜.5 范.5 石.5 金.5 郝.5 武.5 邢.5 邓.4 蒋.4 薛.4 阎.4 "
    "姚.4 史.4 侯.4 常.4 傅.3 沈.3 曾.3 彭.3 蔡.3 叶.3 潘.3 夏.3 方.3 孔.3 康.3 毛.3 秦.3 邵.3 "
    "段.3 尹.3 乔.3 贺.3 安.3 牛.3 齐.3 关.3 戴.2 钟.2 汪.2 谭.2 邹.2 熊.2 陆.2 邱.2 江.2 顾.2 "
    "万.2 雷.2 钱.2 汤.2 文.2 庞.2 樊.2 陶.2 翟.2 严.2 温.2 鲁.2 葛.2 毕.2 聂.2 焦.2 岳.2 佟.2 "
    "廖.1 龙.1 黎.1 易.1 赖.1 龚.1 兰.1 殷.1 施.1 洪.1 颜.1 倪.1 芦.1 季.1 俞.1 章.1 伍.1 韦.1 "
    "申.1 尤.1 丛.1 向.1 柳.1 那.1"
)
_MONGOL_SURNAMES = "包5 白3 宝1.5 鲍1 韩1 吴1 敖.8 佟.5 那.4 海.3 齐.3 金.3 乌.3 陈.2 额.2"
_HAN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆亮峰成龙林东海建国志文新春立永宏振庆学德金福山民兴旭晨博昊晓军彪力忠义广胜长青松柏"
_HAN_FEMALE = "芳娜敏静丽艳秀英霞燕玲红梅莉婷雪琳洁颖欣慧倩晶璐丹萍爽楠月娟佳悦蕾薇琪宁玉兰凤华春云微雅馨茹媛琴桂荣"
_MONGOL_MALE = (
    "巴特尔 额尔敦 苏和 朝鲁 毕力格 呼和 阿拉坦 特木尔 宝音 那顺 斯琴巴图 孟和 吉日嘎拉 乌力吉 图门 "
    "哈斯 巴图 满都拉 达来 额尔德尼 布和 青格勒 胡日查 宝力道 格日勒图 敖其尔 扎那 朝格图 巴雅尔 阿木尔"
).split()
_MONGOL_FEMALE = (
    "其其格 乌日娜 萨仁 斯琴 托娅 高娃 娜仁 图雅 苏日娜 格日乐 塔娜 乌兰 琪琪格 阿茹娜 萨日娜 乌云 "
    "哈斯其其格 吉雅 斯琴高娃 诺敏 娜日苏 乌日汗 那仁花 其木格 敖登 阿拉坦其其格 包日玛 额尔敦其其格"
).split()

_TONGLIAO_REGIONS = (
    "150502:40 150521:12 150522:8 150523:9 150524:5 150525:8 150526:5 150581:4 "
    "150402:2 150404:1 152201:2 150102:1 210902:1.5 220702:1 211402:.5"
)
_PROVINCE_REGIONS = (
    "150102:3 150103:2 150104:2 150105:3 150121:1 150202:2 150203:3 150204:2.5 150205:.3 "
    "150207:1.5 150302:1.5 150402:3 150403:1.5 150404:3 150421:1 150422:1 150426:1.2 150428:1 "
    "150429:1.5 150430:1.5 150502:4 150521:1.5 150522:1 150523:1.2 150524:.6 150525:1 150526:.7 "
    "150581:.6 150602:2.5 150603:.7 150621:1.3 150627:1 150702:2 150781:1 150782:1 150783:1.2 "
    "150802:2 150821:1 150902:1.5 150921:.6 152201:1.5 152221:1 152501:.3 152502:1.2 152921:.8"
)
_TONGLIAO_PLACES = ("通辽市 科尔沁区 科尔沁左翼中旗 科尔沁左翼后旗 开鲁县 库伦旗 奈曼旗 扎鲁特旗 "
                    "霍林郭勒市 通辽经济技术开发区").split()
_PROVINCE_PLACES = ("呼和浩特市 包头市 乌海市 赤峰市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市 乌兰察布市 兴安盟 "
                    "锡林郭勒盟 阿拉善盟 新城区 回民区 赛罕区 昆都仑区 青山区 红山区 松山区 东胜区 "
                    "海拉尔区 临河区 集宁区 乌兰浩特市 锡林浩特市 满洲里市 二连浩特市 牙克石市 扎兰屯市 "
                    "宁城县 敖汉旗 达拉特旗 伊金霍洛旗").split()
_TONGLIAO_TOWNS = ("大林镇 钱家店镇 木里图镇 余粮堡镇 庆和镇 敖力布皋镇 莫力庙苏木 甘旗卡镇 保康镇 "
                   "舍伯吐镇 大沁他拉镇 八仙筒镇 开鲁镇 东风镇 库伦镇 鲁北镇 巨日合镇 珠日河镇").split()
_PUBLIC_ORGS = (
    "第一中学 第二中学 第三中学 第四中学 第五中学 第六中学 第七中学 第八中学 实验中学 蒙古族中学 "
    "第一小学 第二小学 第三小学 第四小学 第五小学 实验小学 蒙古族小学 职业教育中心 幼儿园 人民医院 "
    "中医医院 蒙医医院 妇幼保健院 疾病预防控制中心 卫生健康委员会 税务局 财政局 公安局 交通运输局 "
    "自然资源局 住房和城乡建设局 农牧局 林业和草原局 水利局 民政局 审计局 统计局 市场监督管理局 "
    "人力资源和社会保障局 医疗保障局 生态环境局 文化旅游体育局 应急管理局 人民法院 人民检察院 "
    "供电公司 自来水公司 热力公司 燃气公司 公共交通公司 邮政分公司 移动分公司 联通分公司 电信分公司 "
    "农村商业银行 烟草专卖局 粮食储备库 气象局 广播电视台 融媒体中心 图书馆 档案馆 环卫中心 "
    "城市管理综合执法局"
).split()
_TOWN_ORGS = "中心学校 卫生院 人民政府 中心幼儿园 财政所 畜牧兽医站 农业服务中心".split()
_BIG_ORGS = ("供电公司 热电厂 煤业集团公司 铝业有限责任公司 发电有限责任公司 人民医院 中心医院 "
             "教育系统 公安局 铁路车务段 矿业有限公司 生物科技有限公司 城市投资集团").split()
_BRANDS = ("宏达 鑫源 蒙兴 草原 金牛 天骄 嘉禾 恒泰 盛世 科沁 广源 利民 顺通 兴旺 金石 瑞丰 安达 永泰 "
           "东升 鸿运 通达 新天地 金秋 龙腾 骏马 白音 塔拉 乌兰 海川 泰和 隆昌 祥和 裕民 德润 宝山 "
           "昊天 北疆 万通 绿源 众诚 华联 远航 星火 青城 西拉木伦 辽河 罕山 大青沟 孝庄 福瑞").split()
_INDUSTRIES = ("建筑工程 商贸 物流 农牧业 乳业 食品 化工 建材 运输 物业服务 餐饮 酒店管理 药业 能源 "
               "煤炭 电力工程 汽车销售 农机 种业 饲料 羊绒 肉业 印刷 家具 装饰工程 环保科技 信息技术 "
               "安保服务 劳务 机械制造").split()
_BANK_BINS = ((("622202", 19), 3), (("621700", 19), 3), (("622848", 19), 3), (("621661", 19), 1.5),
              (("623052", 19), 1), (("622908", 18), .5), (("621226", 19), 1), (("622700", 19), 1),
              (("621098", 19), 1.5), (("625966", 16), .5), (("622588", 16), .8), (("621483", 16), .5),
              (("622609", 17), .3), (("623668", 19), .8))

_TONGLIAO_HOSPITALS = (
    "通辽市医院:14 内蒙古民族大学附属医院:12 通辽市科尔沁区第一人民医院:9 通辽市中医医院:6 "
    "通辽市蒙医整骨医院:4 通辽市传染病医院:1 通辽市妇幼保健院:2 开鲁县医院:5 奈曼旗人民医院:5 "
    "库伦旗人民医院:3 扎鲁特旗人民医院:4 科尔沁左翼中旗人民医院:5 科尔沁左翼后旗人民医院:4 "
    "霍林郭勒市人民医院:3 内蒙古医科大学附属医院:1 中国医科大学附属第一医院:2 "
    "中国医科大学附属盛京医院:1.5 吉林大学第一医院:1 北京协和医院:.3"
)
_PROVINCE_HOSPITALS = (
    "内蒙古自治区人民医院:8 内蒙古医科大学附属医院:8 包头市中心医院:6 包头医学院第一附属医院:5 "
    "赤峰市医院:6 赤峰学院附属医院:3 通辽市医院:5 内蒙古民族大学附属医院:4 鄂尔多斯市中心医院:5 "
    "呼伦贝尔市人民医院:4 巴彦淖尔市医院:3 乌兰察布市中心医院:3 兴安盟人民医院:3 锡林郭勒盟医院:2 "
    "阿拉善盟中心医院:1 乌海市人民医院:2 北京协和医院:.5 中国医科大学附属第一医院:.8"
)
_TERTIARY = {"内蒙古民族大学附属医院", "通辽市医院", "内蒙古医科大学附属医院", "中国医科大学附属第一医院",
             "中国医科大学附属盛京医院", "吉林大学第一医院", "北京协和医院", "内蒙古自治区人民医院",
             "包头医学院第一附属医院"}

_ILLNESS_CODES = (
    "J18.9:10 I63.9:9 I10:5 I25.1:6 I20.0:4 I50.9:3 E11.9:5 J44.1:5 K80.2:4 K35.8:2 K29.7:3 N20.0:3 "
    "M51.2:4 M17.9:2 C34.9:2 C16.9:1.5 C18.9:1 C22.0:1 I61.9:1.5 N18.5:1 J20.9:3 K92.2:1 H25.9:3 "
    "G45.9:2 A09:1 B18.1:1 K56.7:1 I48:1 J45.9:1 K85.9:1"
)
_SERIOUS_CODES = "C34.9:3 C16.9:2 C22.0:2 C18.9:1 C92.0:1 I61.9:2 I21.9:2 N18.5:1 S06.5:1 K72.0:.5"
_INJURY_CODES = "S72.0:3 S82.2:2 S06.0:2 S52.5:2 S32.0:1 S22.4:1 T14.0:1 S42.2:1"
_CAUSE_CODES = {"maternity": "O80:3 O82:2", "cosmetic": "Z41.1:1", "self_harm": "T60.0:2 T42.4:1"}

# WOMEN: (share of WOMEN claims, code weights, surgery weights, pathology-Y share)
_WOMEN_DIAGNOSES = (
    (.180, "C50.9:5 C50.4:2 C50.8:1 C50.1:1", "excision:85 none:15", .96),
    (.080, "C53.9:5 C53.0:2 C53.1:1", "hysterectomy_bso:60 hysterectomy:30 none:10", .96),
    (.036, "C54.1:3 C54.9:1", "hysterectomy_bso:85 none:15", .96),
    (.036, "C56:1", "hysterectomy_bso:85 none:15", .96),
    (.008, "C55:1", "hysterectomy_bso:85 none:15", .96),
    (.008, "C51.9:1", "excision:70 none:30", .96),
    (.004, "C52:1", "excision:70 none:30", .96),
    (.008, "C57.0:1", "hysterectomy_bso:85 none:15", .96),
    (.045, "D05.1:2 D05.9:1", "excision:1", .96),
    (.055, "D06.9:3 D06.0:1 D06.1:1", "excision:80 hysterectomy:20", .96),
    (.010, "D07.0:2 D07.1:1 D07.3:1", "hysterectomy:60 excision:40", .96),
    (.275, "D25.9:5 D25.1:2 D25.0:1 D25.2:1", "excision:50 hysterectomy:35 hysterectomy_bso:15", .85),
    (.125, "D27:1", "excision:55 oophorectomy:40 hysterectomy_bso:5", .85),
    (.060, "D24:1", "excision:1", .85),
    (.030, "D26.0:1", "excision:60 hysterectomy:40", .85),
    (.010, "D28.2:1", "excision:1", .85),
    # not covered (R08): a benign diagnosis without surgery, and codes outside the categories
    (.010, "D25.9:1", "none:1", .5),
    (.010, "N60.1:1", "excision:1", .5),
    (.010, "N83.2:1", "excision:1", .5),
)

_FORBIDDEN = re.compile(r'[,"\r\n]')


def _weighted(spec: str, sep: str = ":") -> tuple[list[str], np.ndarray]:
    items, weights = [], []
    for part in spec.split():
        if sep == "":
            items.append(part[0])
            weights.append(float(part[1:]))
        else:
            k, _, w = part.rpartition(sep)
            items.append(k)
            weights.append(float(w))
    w = np.asarray(weights, dtype=float)
    return items, w / w.sum()


def _check_pools() -> None:
    pools = [_HAN_MALE, _HAN_FEMALE, *_MONGOL_MALE, *_MONGOL_FEMALE, *_TONGLIAO_PLACES, *_PROVINCE_PLACES,
             *_TONGLIAO_TOWNS, *_PUBLIC_ORGS, *_TOWN_ORGS, *_BIG_ORGS, *_BRANDS, *_INDUSTRIES,
             _TONGLIAO_HOSPITALS, _PROVINCE_HOSPITALS, _HAN_SURNAMES, _MONGOL_SURNAMES]
    for text in pools:  # our CSV writer does no quoting: no field may need it
        assert not _FORBIDDEN.search(text), text


_check_pools()


# --- small date helpers (days since 1970-01-01 as int) ---------------------------------------
_EPOCH = dt.date(1970, 1, 1)


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


@lru_cache(maxsize=None)
def _date(days: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(days))


@lru_cache(maxsize=None)
def _month(days: int) -> str:
    return _date(days).strftime("%Y-%m")


def _month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _mapped(values: np.ndarray, fmt) -> np.ndarray:  # noqa: ANN001
    """Format each distinct value once (dates, premiums and units repeat a lot)."""
    distinct, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    return np.asarray([fmt(int(v)) for v in distinct], dtype=object)[inverse]


def _date_strings(days: np.ndarray) -> np.ndarray:
    return _mapped(days, lambda d: _date(d).isoformat())


def _fen_strings(fen: np.ndarray) -> np.ndarray:
    return _mapped(fen, _fen_str)


def _fen_str(v: int) -> str:
    return f"{v // 100}.{v % 100:02d}"


def _fen(amount: Decimal) -> int:
    return to_fen(amount)


def _write_csv(path: Path, columns: tuple[str, ...], data: dict[str, np.ndarray | list]) -> None:
    _write_rows(path, columns, [data[c] for c in columns])


def _write_rows(path: Path, columns: tuple[str, ...], cols: list[np.ndarray | list]) -> None:
    """Plain CSV writer, in blocks of rows; ``cols`` are the columns, or pieces of rows that
    already hold several fields joined by ','. No field may need quoting (no ',', '"' or line
    break): checked on the text at C speed — every row must hold exactly len(columns) - 1 commas."""
    n = len(cols[0])
    if any(len(col) != n for col in cols):
        raise AssertionError(f"{path.name}: columns of different lengths")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(columns) + "\n")
        for i in range(0, n, _BLOCK_ROWS):
            part = [col[i:i + _BLOCK_ROWS].tolist() if isinstance(col, np.ndarray) else list(col[i:i + _BLOCK_ROWS])
                    for col in cols]
            k = len(part[0])
            text = "\n".join(map(",".join, zip(*part))) + "\n"
            if text.count(",") != k * (len(columns) - 1) or text.count("\n") != k or '"' in text or "\r" in text:
                raise AssertionError(f"{path.name}: a field would need CSV quoting")
            out.write(text)


_BLOCK_ROWS = 100_000


# --- the generator -----------------------------------------------------------------------------
@dataclass
class _World:
    scale: Scale
    # units
    unit_code: np.ndarray
    unit_name: np.ndarray
    unit_size: np.ndarray
    # persons (members, then never-enrolled persons used for unknown-ID claims)
    name: np.ndarray
    female: np.ndarray
    birth: np.ndarray           # int days
    bank: np.ndarray
    unit: np.ndarray
    n_enrollable: int
    # enrollments
    e_person: np.ndarray
    e_product: np.ndarray       # 0 HOSP, 1 WOMEN
    e_units: np.ndarray
    e_start: np.ndarray         # int days
    e_end: np.ndarray
    e_premium: np.ndarray       # fen
    id_number: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # once made


PRODUCTS = tuple(p.value for p in Product)  # plain str: they go into numpy object arrays


def generate(scale: str | int, seed: int, out_dir: Path, *, settlements: bool = False) -> GeneratedSet:
    """Write rosters, monthly claim batches and the fund ledger; same seed, same bytes.

    The files hold full ID numbers and bank accounts: mode 0600, the folder 0700.
    ``settlements``: also the medical-insurance settlement extract (mutualaid.settlements.generate).
    """
    from mutualaid.private import make_private, private_files

    with private_files():
        result = _generate(scale, seed, Path(out_dir), settlements=settlements)
    make_private(result.out_dir, *result.rosters, *result.claim_batches, result.ledger, *result.settlements)
    return result


def _generate(scale: str | int, seed: int, out_dir: Path, *, settlements: bool = False) -> GeneratedSet:
    from mutualaid.settlements.generate import ExtractPlan, plan_extract, write_extract

    sc = resolve_scale(scale)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*out_dir.glob("claims_????-??.csv"), *out_dir.glob("roster_????.csv")]:
        stale.unlink()  # our own outputs of an earlier run: a stale month must not linger
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20250101]))
    pols = policies()

    n_unknown = _count(MESSY["unknown_member"], sc.hosp_claims + sc.women_claims)
    id_job = _IdJob(sc.hosp_members)
    try:
        world = _make_world(rng, sc, pols, n_unknown + 5, id_job)   # ID numbers: being made meanwhile
        claims, messy = _make_claims(rng, world, pols, n_unknown)
        _number_claims(world, claims)
        _Estimator(world, pols).run(claims)
        extract = plan_extract(seed, world, claims, sc.prefix) if settlements else ExtractPlan()
        ledger_columns, flows = _make_ledger(rng, world, claims, pols)
        world.id_number = id_job.result()
    finally:
        id_job.cancel()
    # the two big rosters are written by forked children while we write the rest
    rosters = [out_dir / f"roster_{y}.csv" for y in _roster_years(world)]
    writers = [_Background(_write_roster, world, y, path) for y, path in zip(_roster_years(world), rosters)]
    try:
        batches = _write_claims(world, extract.clerk_claims(claims), out_dir)
        extracts = write_extract(extract, world, out_dir) if settlements else []
        ledger = out_dir / "ledger.csv"
        _write_csv(ledger, LEDGER_COLUMNS, ledger_columns)
    finally:
        for writer in writers:
            writer.join()

    figures = _figures(sc, seed, world, claims, messy, batches, len(ledger_columns["voucher_no"]), flows)
    return GeneratedSet(out_dir, rosters, batches, ledger, figures | extract.figures, extracts)


def _count(share: float, of: int) -> int:
    return max(1, round(share * of)) if of > 0 else 0


# --- units and persons -------------------------------------------------------------------------
def _unit_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pareto-like: most units 5-50 members, a few employers with thousands."""
    chunks, total = [], 0
    while total < n:
        u = rng.random(max(64, n // 20))
        size = np.floor(5 * (1 - u) ** (-1 / 1.02)).astype(np.int64)
        big = size > 9000
        size[big] = rng.integers(2500, 9000, int(big.sum()))
        chunks.append(size)
        total += int(size.sum())
    sizes = np.concatenate(chunks)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, n))          # the unit where n is reached
    sizes = sizes[: k + 1].copy()
    sizes[k] -= int(cum[k] - n)
    if sizes[k] < 5 and k > 0:                # too small a remainder: merge into the previous
        sizes[k - 1] += sizes[k]
        sizes = sizes[:k]
    return sizes


def _unit_names(rng: np.random.Generator, sizes: np.ndarray, province: bool) -> np.ndarray:
    places = _TONGLIAO_PLACES + (_PROVINCE_PLACES if province else [])
    cities = [p for p in places if p.endswith(("市", "盟", "区", "旗", "县"))]
    big = [f"{p}{o}" for p in cities for o in _BIG_ORGS]
    general = ([f"{p}{o}" for p in places for o in _PUBLIC_ORGS]
               + [f"{t}{o}" for t in _TONGLIAO_TOWNS for o in _TOWN_ORGS]
               + [f"{p}{b}{i}有限公司" for p in ["内蒙古", *cities] for b in _BRANDS for i in _INDUSTRIES])
    big_set = set(big)
    general = [g for g in general if g not in big_set]
    big = [big[i] for i in rng.permutation(len(big))]
    general = [general[i] for i in rng.permutation(len(general))]
    names = np.empty(len(sizes), dtype=object)
    order = np.argsort(-sizes, kind="stable")
    n_big = min(int((sizes >= 1000).sum()), len(big))
    pool = big[:n_big] + general + big[n_big:]
    k = 2
    while len(pool) < len(sizes):  # more units than names: branch unions of the same employers
        pool += [f"{g}第{k}分会" for g in general][: len(sizes) - len(pool)]
        k += 1
    names[order] = np.asarray(pool[: len(sizes)], dtype=object) + "工会"
    return names


def _make_world(rng: np.random.Generator, sc: Scale, pols: dict[int, Policy], n_extra: int,
                id_job: _IdJob) -> _World:
    n25 = sc.hosp_members
    sizes = _unit_sizes(rng, n25)
    n_units = len(sizes)
    width = max(4, len(str(n_units)))
    unit_code = np.asarray([f"{sc.prefix}{i:0{width}d}" for i in range(1, n_units + 1)], dtype=object)
    unit_name = _unit_names(rng, sizes, sc.province)

    n_new = round(n25 * NEW_2026_SHARE)
    n = n25 + n_new + n_extra
    female = rng.random(n) < FEMALE_SHARE
    # birth dates: working ages 18..59 on the first day of their first year
    ref = np.where(np.arange(n) < n25, _days(YEAR_START), _days(NEXT_START))
    age = np.where(np.arange(n) < n25, 18 + 42 * rng.beta(2.0, 1.8, n), 18 + 42 * rng.beta(1.3, 3.0, n))
    birth = ref - np.floor(age * 365.2425).astype(np.int64)
    old = np.arange(n) < n25                 # age 18..59 on 2025-01-01, new ones on 2026-01-01
    lo = np.where(old, _days(dt.date(1965, 1, 2)), _days(dt.date(1966, 1, 2)))
    hi = np.where(old, _days(dt.date(2006, 12, 31)), _days(dt.date(2007, 12, 31)))
    birth = np.clip(birth, lo, hi)

    regions, rw = _weighted(_PROVINCE_REGIONS if sc.province else _TONGLIAO_REGIONS)
    region = rng.choice(len(regions), size=n, p=rw)
    # a sequence number unique within (region, birth date, sex): make() spreads it over 0..499
    key = (region.astype(np.int64) * 100_000 + (birth - birth.min())) * 2 + female
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.r_[True, ks[1:] != ks[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.arange(n) - first
    if n and rank.max() >= 500:
        raise AssertionError("more than 500 persons share a region, birth date and sex")
    offset = rng.integers(0, 500, n)
    seq = np.empty(n, dtype=np.int64)
    seq[order] = (offset[order][first] + rank) % 500
    id_job.submit(np.asarray(regions, dtype=object)[region], birth, seq, female)

    name = _names(rng, n, female, 0.18 if sc.province else 0.30)

    bins, bw = zip(*_BANK_BINS)
    bw = np.asarray(bw) / sum(bw)
    b = rng.choice(len(bins), size=n, p=bw)
    digits = (rng.integers(0, 10, (n, 13), dtype=np.uint8) + ord("0")).view("S13").ravel()
    bank = np.empty(n, dtype=object)
    for i, (prefix, length) in enumerate(bins):   # BIN + random digits, 16..19 long
        sel = np.flatnonzero(b == i)
        tail = digits[sel].astype(f"S{length - 6}").astype(f"U{length - 6}")
        bank[sel] = np.char.add(prefix, tail).astype(object)
    bank[rng.random(n) >= BANK_SHARE] = ""

    unit = np.empty(n, dtype=np.int64)
    unit[:n25] = np.repeat(np.arange(n_units), sizes)
    unit[n25:] = rng.choice(n_units, size=n - n25, p=sizes / sizes.sum())

    w = _enrollments(rng, sc, pols, n25, n_new, female, birth)
    return _World(sc, unit_code, unit_name, sizes, name, female, birth, bank, unit,
                  n25 + n_new, *w)


_POOL_MIN = 200_000   # below this, one process makes the ID numbers faster than a pool


def _make_chunk(regions: list[str], births: list[int], seqs: list[int], sexes: list[str]) -> list[str]:
    return list(map(make, regions, map(_date, births), seqs, sexes))


@contextmanager
def _forking():
    """Python 3.12+ warns on fork() when the process has other OS threads; ours are only
    numpy's idle BLAS threads (fork is used only while no other Python thread runs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks", category=DeprecationWarning)
        yield


def _can_fork() -> bool:
    return "fork" in mp.get_all_start_methods() and threading.active_count() == 1


class _IdJob:
    """``idnumber.make`` for every person. make is ~10 µs a call, the biggest single cost of
    the region scale, so a large population is split over worker processes that run while
    the claims, the estimate and the ledger are computed; ``result()`` collects them.
    The workers are forked at the start, while this process is still small."""

    def __init__(self, n: int):
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list = []
        self.args: tuple[list, ...] = ([], [], [], [])
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.workers = min(cpus, 8)
        # fork only: no re-import of the caller's main module, and only while no other Python
        # thread runs (forking a threaded process can deadlock the child)
        if n >= _POOL_MIN and self.workers > 1 and _can_fork():
            try:
                self.pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("fork"))
                with _forking():   # the fork context starts all workers at the first submit
                    self.pool.submit(int).result()
            except (OSError, BrokenProcessPool):  # no processes here: make them in this one
                self.cancel()

    def submit(self, regions: np.ndarray, birth: np.ndarray, seq: np.ndarray, female: np.ndarray) -> None:
        self.args = (regions.tolist(), birth.tolist(), seq.tolist(), np.where(female, "F", "M").tolist())
        if self.pool is not None:
            n = len(self.args[0])
            step = -(-n // (self.workers * 2))
            self.futures = [self.pool.submit(_make_chunk, *(a[i:i + step] for a in self.args))
                            for i in range(0, n, step)]

    def result(self) -> np.ndarray:
        if self.pool is not None:
            try:
                parts = [f.result() for f in self.futures]
                return np.asarray([x for part in parts for x in part], dtype=object)
            except (OSError, BrokenProcessPool):
                pass
            finally:
                self.cancel()
        return np.asarray(_make_chunk(*self.args), dtype=object)

    def cancel(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool, self.futures = None, []


def _names(rng: np.random.Generator, n: int, female: np.ndarray, mongol_share: float) -> np.ndarray:
    han_s, han_w = _weighted(_HAN_SURNAMES, "")
    mon_s, mon_w = _weighted(_MONGOL_SURNAMES, "")
    mongol = rng.random(n) < mongol_share
    sur = np.where(mongol, np.asarray(mon_s, dtype=object)[rng.choice(len(mon_s), n, p=mon_w)],
                   np.asarray(han_s, dtype=object)[rng.choice(len(han_s), n, p=han_w)])
    male_c, fem_c = np.asarray(list(_HAN_MALE), dtype=object), np.asarray(list(_HAN_FEMALE), dtype=object)
    g1 = np.where(female, fem_c[rng.integers(0, len(fem_c), n)], male_c[rng.integers(0, len(male_c), n)])
    g2 = np.where(female, fem_c[rng.integers(0, len(fem_c), n)], male_c[rng.integers(0, len(male_c), n)])
    given = np.where(rng.random(n) < 0.65, g1 + g2, g1)
    mm, mf = np.asarray(_MONGOL_MALE, dtype=object), np.asarray(_MONGOL_FEMALE, dtype=object)
    mgiven = np.where(female, mf[rng.integers(0, len(mf), n)], mm[rng.integers(0, len(mm), n)])
    return sur + np.where(mongol, mgiven, given)


def _calendar(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month * 100 + day, first day of the month) of int-day arrays, through tables
    over their range of days (a few thousand): much cheaper than datetime64 casts."""
    days = np.asarray(days, dtype=np.int64)
    if not len(days):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    lo = int(days.min())
    span = np.arange(lo, int(days.max()) + 1).astype("datetime64[D]")
    months = span.astype("datetime64[M]")
    year = span.astype("datetime64[Y]").astype(np.int64) + 1970
    month_day = (months.astype(np.int64) % 12 + 1) * 100 + (span - months.astype("datetime64[D]")).astype(np.int64) + 1
    month_start = months.astype("datetime64[D]").astype(np.int64)
    i = days - lo
    return year[i], month_day[i], month_start[i]


def _years(days: np.ndarray) -> np.ndarray:
    return _calendar(days)[0]


def _ages_on(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Full years (vectorised ``idnumber.age_on``), for int-day arrays."""
    by, bmd, _ = _calendar(birth)
    oy, omd, _ = _calendar(on)
    return oy - by - (omd < bmd)


def _one_year_end(start: np.ndarray) -> np.ndarray:
    """Coverage of one year for starts on a month's first day: start + 12 months - 1 day."""
    lo = int(start.min())
    months = np.arange(lo, int(start.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    return ((months + 12).astype("datetime64[D]") - 1).astype(np.int64)[start - lo]


def _enrollments(rng, sc: Scale, pols, n25, n_new, female, birth):  # noqa: ANN001
    month1 = np.array([np.datetime64(f"2025-{m:02d}-01") for m in range(1, 13)]).astype(np.int64)
    month1_26 = np.array([np.datetime64(f"2026-{m:02d}-01") for m in range(1, 13)]).astype(np.int64)
    # HOSP 2025
    p25 = np.arange(n25)
    mid = rng.random(n25) < MIDYEAR_2025_SHARE
    s25 = np.where(mid, month1[rng.integers(1, 5, n25)], month1[0])
    e25 = _one_year_end(s25)
    # HOSP 2026: renewals (older members retire more often) and new members
    age26 = _ages_on(birth[:n25], e25 + 1)
    renew = rng.random(n25) < np.where(age26 >= 59, 0.55, RENEW_SHARE)
    pr = p25[renew]
    sr = e25[renew] + 1
    pn = np.arange(n25, n25 + n_new)
    sn = np.where(rng.random(n_new) < 0.85, month1_26[0], month1_26[rng.integers(1, 4, n_new)])

    # WOMEN 2025: a choice of the eligible women, with the start of their HOSP enrollment
    wp = pols[MAIN_YEAR].products.WOMEN
    ages25 = _ages_on(birth[:n25], s25)
    eligible = np.flatnonzero(female[:n25] & (ages25 >= wp.min_age) & (ages25 <= wp.max_age))
    k = min(sc.women_members, len(eligible))
    w25 = np.sort(rng.choice(eligible, size=k, replace=False))
    wu25 = np.where(rng.random(k) < WOMEN_TWO_UNITS, wp.max_units, 1)
    # WOMEN 2026: renewals of HOSP renewers, and new women
    renewed = np.zeros(n25 + n_new, dtype=bool)
    renewed[pr] = True
    start_of = np.zeros(n25 + n_new, dtype=np.int64)
    start_of[pr] = sr
    start_of[pn] = sn
    keep = renewed[w25] & (rng.random(k) < WOMEN_RENEW_SHARE)
    w26r, wu26r = w25[keep], wu25[keep]
    wp26 = pols[MAIN_YEAR + 1].products.WOMEN
    change = rng.random(len(w26r)) < 0.08      # a few change their units on renewal
    wu26r = np.minimum(np.where(change, 1 + wp26.max_units - wu26r, wu26r), wp26.max_units)
    w26n = pn[female[pn] & (rng.random(n_new) < NEW_WOMEN_SHARE)]
    wu26n = np.where(rng.random(len(w26n)) < WOMEN_TWO_UNITS, wp26.max_units, 1)
    w26 = np.concatenate([w26r, w26n])
    wu26 = np.concatenate([wu26r, wu26n])
    s_w26 = start_of[w26]
    a26 = _ages_on(birth[w26], s_w26)
    ok = (a26 >= wp26.min_age) & (a26 <= wp26.max_age)
    w26, wu26, s_w26 = w26[ok], wu26[ok], s_w26[ok]

    person = np.concatenate([p25, pr, pn, w25, w26])
    product = np.concatenate([np.zeros(n25 + len(pr) + n_new, dtype=np.int8), np.ones(k + len(w26), dtype=np.int8)])
    units = np.concatenate([np.ones(n25 + len(pr) + n_new, dtype=np.int64), wu25, wu26])
    start = np.concatenate([s25, sr, sn, s25[w25], s_w26])
    end = _one_year_end(start)
    year = _years(start)
    premium = np.zeros(len(person), dtype=np.int64)
    for y, pol in pols.items():
        for code, prod in enumerate(PRODUCTS):
            sel = (year == y) & (product == code)
            premium[sel] = units[sel] * _fen(pol.product(prod).premium_per_unit)
    if np.any(~np.isin(year, list(pols))):
        raise AssertionError("an enrollment starts in a year without a policy version")
    return person, product, units, start, end, premium


def _roster_years(w: _World) -> list[int]:
    return sorted(set((_years(w.e_start)).tolist()))


def _write_roster(w: _World, y: int, path: Path) -> None:
    """The enrollments starting in year ``y``, by unit code, product and member."""
    year = _years(w.e_start)
    idx = np.flatnonzero(year == y)
    person = w.e_person[idx]
    idx = idx[np.lexsort((person, w.e_product[idx], w.unit[person]))]
    person = w.e_person[idx]
    u = w.unit[person]
    _write_csv(path, ROSTER_COLUMNS, {
        "unit_code": w.unit_code[u], "unit_name": w.unit_name[u],
        "member_id_number": w.id_number[person], "member_name": w.name[person],
        "product": np.asarray(PRODUCTS, dtype=object)[w.e_product[idx]], "units": _mapped(w.e_units[idx], str),
        "start_date": _date_strings(w.e_start[idx]), "end_date": _date_strings(w.e_end[idx]),
        "premium_paid": _fen_strings(w.e_premium[idx]), "bank_account": w.bank[person],
    })


class _Background:
    """Run ``fn(*args)`` in a forked child (it sees our memory: nothing is copied or pickled)
    while we go on; ``join()`` waits. Without fork, or with other threads running, or if the
    child fails, the work is done here instead — same result either way."""

    def __init__(self, fn, *args):  # noqa: ANN001, ANN002
        self.fn, self.args, self.proc = fn, args, None
        if _can_fork():
            try:
                self.proc = mp.get_context("fork").Process(target=fn, args=args, daemon=True)
                with _forking():
                    self.proc.start()
            except OSError:
                self.proc = None
        if self.proc is None:
            fn(*args)

    def join(self) -> None:
        if self.proc is not None:
            self.proc.join()
            failed = self.proc.exitcode != 0
            self.proc = None
            if failed:
                self.fn(*self.args)


# --- claims --------------------------------------------------------------------------------------
@dataclass
class _Claim:
    seq: int
    product: str
    person: int
    name: str
    event: int                  # admission (HOSP) or diagnosis (WOMEN) date, int days
    submitted: int
    kind: str = ""              # messiness tag, "" for a regular claim
    enr: int = -1               # the enrollment the claim was made for (-1: unknown member)
    discharge: int = 0
    hospital: str = ""
    diagnosis: str = ""
    cause: str = ""
    insurance: int = 0          # fen
    base: int = 0
    out_of_policy: int = 0
    pathology: str = ""
    surgery: str = ""
    claim_no: str = ""
    # estimate
    status: str = ""
    payout: int = 0             # fen
    codes: tuple[str, ...] = ()


class _Stream:
    """Scalar draws for the per-claim loops: the Generator's scalar API, served from
    pre-drawn blocks (a scalar ``Generator`` call costs microseconds; this is 20x cheaper)."""

    BLOCK = 1 << 16

    def __init__(self, rng: np.random.Generator):
        self.gen = rng
        self._u: list[float] = []
        self._z: list[float] = []

    def random(self) -> float:
        if not self._u:
            self._u = self.gen.random(self.BLOCK).tolist()
            self._u.reverse()
        return self._u.pop()

    def normal(self) -> float:
        if not self._z:
            self._z = self.gen.standard_normal(self.BLOCK).tolist()
            self._z.reverse()
        return self._z.pop()

    def integers(self, low: int, high: int) -> int:
        """low <= n < high, like ``Generator.integers``."""
        return low + min(int(self.random() * (high - low)), high - low - 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def lognormal(self, mean: float, sigma: float) -> float:
        return math.exp(mean + sigma * self.normal())

    def choice(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 — vector draws: the Generator
        return self.gen.choice(*args, **kwargs)


def _clip(x: int, low: int, high: int) -> int:
    return low if x < low else high if x > high else x


class _Draw:
    """Choices from weighted spec strings, with their own arrays prepared once."""

    def __init__(self, rng: _Stream, spec: str):
        self.items, self.p = _weighted(spec)
        self.rng = rng
        self.cum = np.cumsum(self.p).tolist()

    def one(self) -> str:
        return self.items[min(bisect.bisect_right(self.cum, self.rng.random()), len(self.items) - 1)]


def _make_claims(rng: np.random.Generator, w: _World, pols: dict[int, Policy], n_unknown: int):
    sc = w.scale
    gen = _ClaimMaker(rng, w, pols)
    messy = {k: 0 for k in ("late_filing", "duplicate", "name_typo", "unknown_member", "waiting_period",
                            "excluded_cause", "not_covered", "long_stay", "no_pathology")}
    n_dup = _count(MESSY["duplicate"], sc.hosp_claims)
    n_wait_h = _count(MESSY["waiting_period"], sc.hosp_claims)
    n_wait_w = _count(MESSY["waiting_period"] * 2, sc.women_claims)
    n_unknown_w = min(n_unknown // 5, n_unknown)
    n_unknown_h = n_unknown - n_unknown_w
    n_cat = round(sc.hosp_members * CATASTROPHIC_PER_MEMBER)
    n_cat_next = round(sc.hosp_members * CATASTROPHIC_NEXT_PER_MEMBER)
    n_h = max(0, sc.hosp_claims - n_dup - n_wait_h - n_unknown_h - n_cat)
    n_w = max(0, sc.women_claims - n_wait_w - n_unknown_w)

    # regular HOSP stays of 2025, then early 2026
    gen.hosp(n_h, YEAR_START, YEAR_END)
    gen.hosp(n_cat, YEAR_START, YEAR_END, catastrophic=True)
    gen.hosp(round(n_h * EARLY_NEXT_FACTOR), NEXT_START, EARLY_NEXT_END)
    gen.hosp(n_cat_next, NEXT_START, EARLY_NEXT_END, catastrophic=True)
    gen.women(n_w, YEAR_START, YEAR_END)
    gen.women(round(n_w * EARLY_NEXT_FACTOR), NEXT_START, EARLY_NEXT_END)
    gen.hosp(n_wait_h, YEAR_START, YEAR_END, kind="waiting_period")
    gen.women(n_wait_w, YEAR_START, YEAR_END, kind="waiting_period")
    gen.unknown(n_unknown_h, n_unknown_w)
    claims = gen.claims

    regular = [c for c in claims if not c.kind]
    # late filings: regular 2025 HOSP stays, filed 1-6 weeks after the deadline
    hosp25 = [c for c in regular if c.product == "HOSP" and c.event <= _days(YEAR_END)
              and gen.deadline(c) <= _days(SUBMIT_END)]
    pick = rng.choice(len(hosp25), size=min(len(hosp25), _count(MESSY["late_filing"], sc.hosp_claims)),
                      replace=False) if hosp25 else []
    for i in sorted(pick):
        c = hosp25[i]
        c.submitted = gen.deadline(c) + int(rng.integers(1, 43))
        c.kind = "late_filing"
    # duplicates: the same stay filed again under another claim number
    hosp_reg = [c for c in claims if c.product == "HOSP" and not c.kind and c.seq not in gen.natural
                and c.discharge > c.event]
    for i in sorted(rng.choice(len(hosp_reg), size=min(n_dup, len(hosp_reg)), replace=False)) if hosp_reg else []:
        c = hosp_reg[i]
        latest = min(gen.deadline(c), _days(SUBMIT_END))
        sub = min(c.submitted + int(rng.integers(3, 45)), latest)
        gen.add(_Claim(0, "HOSP", c.person, c.name, c.event, max(sub, c.submitted), "duplicate", c.enr, c.discharge,
                       c.hospital, c.diagnosis, c.cause, c.insurance, c.base, c.out_of_policy))
    # name typos: one character of the given name changed
    regular = [c for c in claims if not c.kind]
    for i in sorted(rng.choice(len(regular), size=min(len(regular), _count(MESSY["name_typo"], len(claims))),
                               replace=False)):
        c = regular[i]
        c.name = _typo(rng, c.name, bool(w.female[c.person]))
        c.kind = "name_typo"

    for c in claims:
        for tag in {c.kind, gen.natural.get(c.seq, "")} - {""}:
            messy[tag] += 1
    return claims, messy


def _typo(rng: np.random.Generator, name: str, female: bool) -> str:
    pool = _HAN_FEMALE if female else _HAN_MALE
    pos = int(rng.integers(1, len(name)))
    while True:
        ch = pool[int(rng.integers(0, len(pool)))]
        if ch != name[pos]:
            return name[:pos] + ch + name[pos + 1:]


class _ClaimMaker:
    def __init__(self, rng: np.random.Generator, w: _World, pols: dict[int, Policy]):
        rng = _Stream(rng)
        self.rng, self.w, self.pols = rng, w, pols
        self.claims: list[_Claim] = []
        self.stays: dict[int, list[tuple[int, int]]] = {}
        self.women_claimed: set[int] = set()
        self.natural: dict[int, str] = {}        # seq -> messiness that came from a distribution
        sc = w.scale
        self.hospitals = _Draw(rng, _PROVINCE_HOSPITALS if sc.province else _TONGLIAO_HOSPITALS)
        tert = [h for h in self.hospitals.items if h in _TERTIARY]
        self.tertiary = _Draw(rng, " ".join(f"{h}:1" for h in tert))
        self.illness = _Draw(rng, _ILLNESS_CODES)
        self.serious = _Draw(rng, _SERIOUS_CODES)
        self.injury = _Draw(rng, _INJURY_CODES)
        self.cause_codes = {k: _Draw(rng, v) for k, v in _CAUSE_CODES.items()}
        self.causes = _Draw(rng, " ".join(f"{c}:{p}" for c, p in CAUSES))
        shares = np.asarray([d[0] for d in _WOMEN_DIAGNOSES])
        self.women_cum = np.cumsum(shares / shares.sum()).tolist()
        self.women_codes = [_Draw(rng, d[1]) for d in _WOMEN_DIAGNOSES]
        self.women_surg = [_Draw(rng, d[2]) for d in _WOMEN_DIAGNOSES]
        # enrollment index by product, and first-enrollment flags (2025 starters, 2026 new)
        self.by_product = [np.flatnonzero(w.e_product == k) for k in (0, 1)]
        first = np.ones(len(w.e_person), dtype=bool)
        for k in (0, 1):
            idx = self.by_product[k]
            order = idx[np.lexsort((w.e_start[idx], w.e_person[idx]))]
            same = w.e_person[order][1:] == w.e_person[order][:-1]
            chained = same & (w.e_start[order][1:] - w.e_end[order][:-1] <= RENEWAL_GAP_DAYS)
            first[order[1:][chained]] = False
        self.first = first
        self.age_start = (w.e_start - w.birth[w.e_person]) / 365.25   # for weights only

    def add(self, c: _Claim) -> _Claim:
        c.seq = len(self.claims)
        self.claims.append(c)
        return c

    def deadline(self, c: _Claim) -> int:
        e = c.enr
        pol = self.pols[_date(self.w.e_start[e]).year].product(c.product)
        return _days(pol.deadline.last_day(coverage_end=_date(self.w.e_end[e]), event=_date(c.event)))

    def _pick(self, product: int, n: int, lo: dt.date, hi: dt.date, weights_fn, first_only=False,
              replace=True, new_only=False) -> np.ndarray:
        w = self.w
        idx = self.by_product[product]
        ok = (w.e_start[idx] <= _days(hi)) & (w.e_end[idx] >= _days(lo))
        if first_only:
            ok &= self.first[idx] & (w.e_start[idx] >= _days(lo))
        if new_only:   # periods that start inside the window (the window's policy version)
            ok &= w.e_start[idx] >= _days(lo)
        idx = idx[ok]
        if not len(idx) or n <= 0:
            return np.empty(0, dtype=np.int64)
        p = weights_fn(self.age_start[idx])
        p = p / p.sum()
        if not replace:
            n = min(n, len(idx))
        return self.rng.choice(idx, size=n, replace=replace, p=p)

    def _window(self, e: int, product: str, lo: dt.date, hi: dt.date, waiting: bool) -> tuple[int, int]:
        w = self.w
        pol = self.pols[_date(w.e_start[e]).year].product(product)
        start, end = int(w.e_start[e]), int(w.e_end[e])
        if waiting:
            return start, min(start + pol.waiting_days - 1, _days(hi))
        first_day = start + pol.waiting_days if self.first[e] else start
        return max(first_day, _days(lo)), min(end, _days(hi))

    def _free(self, person: int, adm: int, dis: int) -> bool:
        return all(dis < a - 1 or adm > d + 1 for a, d in self.stays.get(person, ()))

    def _submit(self, c: _Claim, after: int, median_days: float) -> bool:
        rng = self.rng
        lag = _clip(round(rng.lognormal(math.log(median_days), 0.6)), 2, 120)
        latest = min(self.deadline(c), _days(SUBMIT_END))
        if after > latest:
            return False
        sub = after + lag
        if sub > latest:
            sub = after + int(rng.integers(0, latest - after + 1))
        c.submitted = sub
        return True

    # HOSP ---------------------------------------------------------------------------------------
    def hosp(self, n: int, lo: dt.date, hi: dt.date, *, catastrophic: bool = False, kind: str = "") -> None:
        rng, w = self.rng, self.w
        waiting = kind == "waiting_period"
        picks = self._pick(0, n, lo, hi, lambda a: 0.6 + 0.04 * (a - 18), first_only=waiting,
                           new_only=catastrophic)
        for e in picks.tolist():
            person = int(w.e_person[e])
            first_day, last_day = self._window(e, "HOSP", lo, hi, waiting)
            if first_day > last_day:
                continue
            long_stay = not catastrophic and not waiting and rng.random() < LONG_STAY_SHARE
            for _ in range(8):
                adm = int(rng.integers(first_day, last_day + 1))
                if rng.random() > (1 + 0.25 * math.cos(2 * math.pi * (adm % 365.25 - 20) / 365.25)) / 1.25:
                    adm = int(rng.integers(first_day, last_day + 1))  # a little more in winter
                if long_stay:
                    days = int(rng.integers(91, 150))
                elif catastrophic:
                    days = int(rng.integers(25, 85))
                elif rng.random() < 0.02:
                    days = 0   # same-day stay, counted as 1
                else:
                    days = _clip(round(rng.lognormal(math.log(7), 0.55)), 1, 60)
                if waiting:
                    days = min(days, max(0, last_day - adm))
                dis = adm + days
                if self._free(person, adm, dis):
                    break
            else:
                continue
            c = _Claim(0, "HOSP", person, w.name[person], adm, 0, kind, e, dis)
            if not self._submit(c, dis, 18):
                continue
            self.stays.setdefault(person, []).append((adm, dis))
            cause = "illness" if catastrophic else self.causes.one()
            if cause == "maternity" and not (w.female[person] and self.age_start[e] <= 45):
                cause = "work_injury"
            c.cause = cause
            if catastrophic:
                c.diagnosis = self.serious.one()
            elif cause == "illness":
                c.diagnosis = self.illness.one()
            elif cause in self.cause_codes:
                c.diagnosis = self.cause_codes[cause].one()
            else:
                c.diagnosis = self.injury.one()
            pol = self.pols[_date(w.e_start[e]).year]
            hp = pol.products.HOSP
            if catastrophic:
                cap = _fen(hp.annual_cap)
                share = rng.uniform(0.90, 1.15) if pol.version == MAIN_YEAR else rng.uniform(0.50, 0.69)
                base = _base_for_subsidy(hp, int(cap * share))
            elif rng.random() < TAIL_SHARE:
                base = round(rng.lognormal(math.log(TAIL_MEDIAN_YUAN * 100), TAIL_SIGMA))
            else:
                base = round(rng.lognormal(math.log(BASE_MEDIAN_YUAN * 100), BASE_SIGMA))
            base = max(base, 500)
            big = catastrophic or base > 3_000_000   # over 30,000 yuan: mostly a tertiary hospital
            c.hospital = self.tertiary.one() if big and rng.random() < 0.8 else self.hospitals.one()
            insured_share = rng.uniform(0.50, 0.78)
            c.base = base
            c.insurance = int(round(base * insured_share / (1 - insured_share)))
            c.out_of_policy = int(round((c.base + c.insurance) * rng.uniform(0.02, 0.22)))
            self.add(c)
            if cause in hp.excluded_causes:
                self.natural[c.seq] = "excluded_cause"
            if long_stay:
                self.natural[c.seq] = "long_stay"

    # WOMEN --------------------------------------------------------------------------------------
    def women(self, n: int, lo: dt.date, hi: dt.date, *, kind: str = "") -> None:
        rng, w = self.rng, self.w
        waiting = kind == "waiting_period"
        picks = self._pick(1, n, lo, hi, lambda a: np.maximum(a - 20, 1.0) ** 1.6, first_only=waiting,
                           replace=False)
        for e in picks.tolist():
            person = int(w.e_person[e])
            if person in self.women_claimed:
                continue
            first_day, last_day = self._window(e, "WOMEN", lo, hi, waiting)
            if first_day > last_day:
                continue
            diag_date = int(rng.integers(first_day, last_day + 1))
            k = min(bisect.bisect_right(self.women_cum, rng.random()), len(_WOMEN_DIAGNOSES) - 1)
            code = self.women_codes[k].one()
            surgery = self.women_surg[k].one()
            path = "Y" if rng.random() < _WOMEN_DIAGNOSES[k][3] else "N"
            c = _Claim(0, "WOMEN", person, w.name[person], diag_date, 0, kind, e, diagnosis=code,
                       pathology=path, surgery="" if surgery == "none" and rng.random() < 0.5 else surgery)
            if not self._submit(c, diag_date, 30):
                continue
            self.women_claimed.add(person)
            self.add(c)
            wp: WomenPolicy = self.pols[_date(w.e_start[e]).year].products.WOMEN
            cat = wp.category_of(code, surgery)
            if cat is None:
                self.natural[c.seq] = "not_covered"
            elif wp.categories[cat].needs_pathology and path != "Y":
                self.natural[c.seq] = "no_pathology"

    # unknown members ----------------------------------------------------------------------------
    def unknown(self, n_h: int, n_w: int) -> None:
        rng, w = self.rng, self.w
        extra = np.arange(w.n_enrollable, len(w.name))
        women = [int(p) for p in extra if w.female[p]]
        men = [int(p) for p in extra if not w.female[p]]
        hp = self.pols[MAIN_YEAR].products.HOSP
        wp = self.pols[MAIN_YEAR].products.WOMEN
        for i in range(n_h + n_w):
            is_w = i >= n_h and women
            pool = women if is_w else (men + women)
            person = pool[int(rng.integers(0, len(pool)))]
            event = int(rng.integers(_days(YEAR_START) + 20, _days(YEAR_END) - 40))
            if is_w:
                k = int(rng.integers(0, 12))
                c = _Claim(0, "WOMEN", person, w.name[person], event, 0, "unknown_member",
                           diagnosis=self.women_codes[k].one(), pathology="Y",
                           surgery=self.women_surg[k].one())
                after, policy = event, wp
            else:
                days = _clip(round(rng.lognormal(math.log(7), 0.55)), 1, 60)
                base = round(rng.lognormal(math.log(BASE_MEDIAN_YUAN * 100), BASE_SIGMA))
                ins = int(round(base * 1.8))
                c = _Claim(0, "HOSP", person, w.name[person], event, 0, "unknown_member", -1, event + days,
                           self.hospitals.one(), self.illness.one(), "illness", ins, base, base // 7)
                after, policy = event + days, hp
            deadline = _days(policy.deadline.last_day(coverage_end=YEAR_END, event=_date(event)))
            c.submitted = min(after + int(rng.integers(5, 40)), deadline, _days(SUBMIT_END))
            self.add(c)


def _base_for_subsidy(hp: HospPolicy, target_fen: int) -> int:
    """The in-policy self-pay (fen) whose banded subsidy is ``target_fen``."""
    target = from_fen(target_fen)
    lower, cum = Decimal(0), Decimal(0)
    for band in hp.bands:
        if band.upto is not None:
            full = (band.upto - lower) * band.rate
            if cum + full < target:
                cum += full
                lower = band.upto
                continue
        return _fen(round_fen(lower + (target - cum) / band.rate))
    raise AssertionError("unreachable: bands end with an open band")


# --- simplified adjudication (the estimate behind the ledger and the figures) ----------------
class _Estimator:
    """policy.md §2–4 applied to the generated claims, in batch processing order."""

    def __init__(self, w: _World, pols: dict[int, Policy]):
        self.w, self.pols = w, pols

    def run(self, claims: list[_Claim]) -> None:
        w = self.w
        claimant = np.zeros(len(w.name), dtype=bool)
        claimant[[c.person for c in claims]] = True
        sel = np.flatnonzero(claimant[w.e_person])
        enr: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        for e in sel[np.lexsort((w.e_start[sel], w.e_product[sel], w.e_person[sel]))].tolist():
            key = (int(w.e_person[e]), int(w.e_product[e]))
            chain = enr.setdefault(key, [])
            prev = chain[-1] if chain else None
            year = prev[3] + 1 if prev and w.e_start[e] - prev[1] <= RENEWAL_GAP_DAYS else 1
            chain.append((int(w.e_start[e]), int(w.e_end[e]), e, year))
        self.enr = enr
        self.stays: dict[int, list[tuple[int, int]]] = {}
        self.period_paid: dict[int, int] = {}     # enrollment -> fen paid (non-rejected)
        self.period_days: dict[int, int] = {}     # enrollment -> allowance days used
        self.women_paid: dict[int, dict[str, int]] = {}
        self.women_seen: set[tuple[int, str, int]] = set()
        self.cover_ended: set[int] = set()
        ordered = sorted(claims, key=lambda c: (_month(c.submitted), c.event, c.claim_no))
        for c in ordered:
            self._decide(c)

    def _decide(self, c: _Claim) -> None:
        w = self.w
        codes: list[str] = []
        payout = Decimal(0)
        chain = self.enr.get((c.person, PRODUCTS.index(c.product)), [])
        cover = next((x for x in chain if x[0] <= c.event <= x[1]), None)
        if not any(self.enr.get((c.person, k)) for k in (0, 1)):
            codes.append("R01")
        elif cover is None:
            codes.append("R02")
        if codes:
            self._finish(c, codes, payout)
            return
        start, end, e, year = cover
        pol = self.pols[_date(start).year]
        prod = pol.product(c.product)
        if year == 1 and c.event < start + prod.waiting_days:
            codes.append("R03")
        if c.submitted > _days(prod.deadline.last_day(coverage_end=_date(end), event=_date(c.event))):
            codes.append("R04")
        if c.name.strip() != w.name[c.person].strip():
            codes.append("V02")
        if c.product == "HOSP":
            payout = self._hosp(c, pol, prod, e, year, codes)
        else:
            payout = self._women(c, pol, prod, e, codes)
        self._finish(c, codes, payout)

    def _hosp(self, c: _Claim, pol: Policy, hp: HospPolicy, e: int, year: int, codes: list[str]) -> Decimal:
        if c.cause in hp.excluded_causes:
            codes.append("R05")
        # R06 as policy.md: a stay occupies [admission, max(discharge, admission + 1)) (day numbers)
        if any(c.event < max(d, a + 1) and a < max(c.discharge, c.event + 1) for a, d in self.stays.get(c.person, ())):
            codes.append("R06")
        cap_left = hp.annual_cap - from_fen(self.period_paid.get(e, 0))
        if cap_left <= 0:
            codes.append("R09")
        if any(x.startswith("R") for x in codes):
            return Decimal(0)
        base = from_fen(c.base)
        subsidy, lower = Decimal(0), Decimal(0)
        for band in hp.bands:
            top = base if band.upto is None else min(base, band.upto)
            if top > lower:
                subsidy += (top - lower) * band.rate
            if band.upto is not None:
                lower = band.upto
        floor = min(hp.minimum_subsidy, base)
        if subsidy < floor:
            subsidy = floor
            codes.append("A01")
        stay = max(c.discharge - c.event, 1)
        used = self.period_days.get(e, 0)
        days = min(stay, hp.allowance_days_per_stay, max(hp.allowance_days_per_period - used, 0))
        if days < stay:
            codes.append("A03")
        total = subsidy + days * hp.daily_allowance(year)
        payout = round_fen(min(total, cap_left))
        if total > cap_left:
            codes.append("A02")
        if payout >= pol.review_payout_threshold:
            codes.append("V01")
        if stay > hp.long_stay_days:
            codes.append("V04")
        self.stays.setdefault(c.person, []).append((c.event, c.discharge))
        self.period_paid[e] = self.period_paid.get(e, 0) + _fen(payout)
        self.period_days[e] = used + days
        return payout

    def _women(self, c: _Claim, pol: Policy, wp: WomenPolicy, e: int, codes: list[str]) -> Decimal:
        w = self.w
        age = age_on(_date(w.birth[c.person]), _date(c.event))
        if not w.female[c.person] or not wp.min_age <= age <= wp.max_age:
            codes.append("R07")
        surgery = c.surgery or "none"
        cat = wp.category_of(c.diagnosis, surgery)
        if cat is None:
            codes.append("R08")
            return Decimal(0)
        if (c.person, cat, c.event) in self.women_seen:
            codes.append("R06")
        paid = self.women_paid.get(c.person, {})
        if cat in paid or c.person in self.cover_ended:
            codes.append("R09")
        if any(x.startswith("R") for x in codes):
            return Decimal(0)
        category = wp.categories[cat]
        amount = category.amount_per_unit * int(w.e_units[e])
        deducted = sum((from_fen(paid[d]) for d in category.deduct_paid if d in paid), Decimal(0))
        if deducted:
            codes.append("A04")
        payout = round_fen(max(amount - deducted, Decimal(0)))
        if category.needs_pathology and c.pathology != "Y":
            codes.append("V03")
        if payout >= pol.review_payout_threshold:
            codes.append("V01")
        self.women_seen.add((c.person, cat, c.event))
        self.women_paid.setdefault(c.person, {})[cat] = _fen(payout)
        if category.ends_cover:
            self.cover_ended.add(c.person)
        return payout

    @staticmethod
    def _finish(c: _Claim, codes: list[str], payout: Decimal) -> None:
        c.codes = tuple(sorted(set(codes)))
        if any(x.startswith("R") for x in codes):
            c.status, c.payout = REJECTED, 0
        elif any(x.startswith("V") for x in codes):
            c.status, c.payout = PENDING_REVIEW, _fen(payout)
        else:
            c.status, c.payout = APPROVED, _fen(payout)


def _number_claims(w: _World, claims: list[_Claim]) -> None:
    """Claim numbers in order of submission (the original of a duplicate first), per year."""
    claims.sort(key=lambda c: (c.submitted, c.seq))
    counters: dict[int, int] = {}
    for c in claims:
        y = _date(c.submitted).year
        counters[y] = counters.get(y, 0) + 1
        c.claim_no = f"{w.scale.prefix}{y}-{counters[y]:06d}"


def _write_claims(w: _World, claims: list[_Claim], out_dir: Path) -> list[Path]:
    paths = []
    by_month: dict[str, list[_Claim]] = {}
    for c in claims:  # claims are in claim-number order
        by_month.setdefault(_month(c.submitted), []).append(c)
    for m, rows in sorted(by_month.items()):
        data: dict[str, list[str]] = {k: [] for k in CLAIM_COLUMNS}
        for c in rows:
            hosp = c.product == "HOSP"
            vals = {
                "claim_no": c.claim_no, "product": c.product, "member_id_number": w.id_number[c.person],
                "member_name": c.name, "submitted_date": _date(c.submitted).isoformat(),
                "admission_date": _date(c.event).isoformat() if hosp else "",
                "discharge_date": _date(c.discharge).isoformat() if hosp else "",
                "hospital_name": c.hospital, "diagnosis_code": c.diagnosis, "cause": c.cause,
                "total_cost": _fen_str(c.insurance + c.base + c.out_of_policy) if hosp else "",
                "insurance_paid": _fen_str(c.insurance) if hosp else "",
                "in_policy_self_pay": _fen_str(c.base) if hosp else "",
                "out_of_policy_self_pay": _fen_str(c.out_of_policy) if hosp else "",
                "diagnosis_date": "" if hosp else _date(c.event).isoformat(),
                "pathology_confirmed": "" if hosp else c.pathology,
                "surgery": "" if hosp else c.surgery,
            }
            for k in CLAIM_COLUMNS:
                data[k].append(vals[k])
        path = out_dir / f"claims_{m}.csv"
        _write_csv(path, CLAIM_COLUMNS, data)
        paths.append(path)
    return paths


# --- fund ledger ---------------------------------------------------------------------------------
_ORDER = {"OPENING_BALANCE": 0, "CONTRIBUTION": 1, "SUBSIDY": 2, "PAYOUT": 3, "REVERSAL": 4, "FEE": 5,
          "INTEREST": 6}
_INFLOW = {"OPENING_BALANCE", "CONTRIBUTION", "SUBSIDY", "INTEREST", "REVERSAL"}


def _make_ledger(rng: np.random.Generator, w: _World, claims: list[_Claim],
                 pols: dict[int, Policy]) -> tuple[dict[str, list], dict[str, int]]:
    """The ledger's columns (in date order, vouchers numbered per year) and fen per entry type."""
    last_month = max(_date(c.submitted) for c in claims) if claims else YEAR_END
    end = _days(_month_end(last_month))
    first = _days(YEAR_START)
    stream = _Stream(rng)
    # columns of the entries: date, type, product, fen, reference, memo
    dates: list[np.ndarray] = []
    types: list[np.ndarray] = []
    prods: list[np.ndarray] = []
    fens: list[np.ndarray] = []
    refs: list[np.ndarray] = []
    memos: list[np.ndarray] = []

    def add(d, t, p, f, r, m) -> None:  # noqa: ANN001 — scalars or equally long arrays
        n = len(d) if isinstance(d, np.ndarray) else 1
        for store, v, kind in ((dates, d, np.int64), (types, t, object), (prods, p, object), (fens, f, np.int64),
                               (refs, r, object), (memos, m, object)):
            store.append(v.astype(kind) if isinstance(v, np.ndarray) else np.full(n, v, dtype=kind))

    opening = int(w.scale.hosp_members * 4500 + rng.integers(0, 100_000))
    add(first, "OPENING_BALANCE", "", opening, "", "上年结转")

    # contributions: one line per unit, product and start date, paid around the start
    frame = pd.DataFrame({"unit": w.unit[w.e_person], "product": w.e_product, "start": w.e_start,
                          "fen": w.e_premium})
    g = frame.groupby(["start", "unit", "product"], sort=True)["fen"].sum().reset_index()
    start = g["start"].to_numpy()
    product = g["product"].to_numpy()
    paid_on = np.clip(start + rng.integers(-20, 26, len(g)), first + 1, end)
    year = _years(start)
    memo = np.empty(len(g), dtype=object)
    for y in np.unique(year).tolist():
        for k, prod in enumerate(PRODUCTS):
            memo[(year == y) & (product == k)] = f"{y}年度{pols[y].product(prod).name_zh}会费"
    add(paid_on, "CONTRIBUTION", np.asarray(PRODUCTS, dtype=object)[product], g["fen"].to_numpy(),
        w.unit_code[g["unit"].to_numpy()], memo)

    # subsidies from the federation and the regional union, now and then
    for day, text in ((dt.date(2025, 3, 18), "市总工会互助保障专项补助"), (dt.date(2025, 9, 22), "自治区总工会补助资金"),
                      (dt.date(2025, 12, 16), "市总工会互助保障专项补助"), (dt.date(2026, 3, 17), "市总工会互助保障专项补助")):
        if _days(day) <= end:
            add(_days(day), "SUBSIDY", "HOSP", int(w.scale.hosp_members * int(rng.integers(300, 800))), "", text)

    # payouts of the claims the estimate approves, after their batch's month end
    paid = sorted((c for c in claims if c.status == APPROVED and c.payout > 0), key=lambda c: c.claim_no)
    pay_lines: list[tuple[_Claim, int]] = []
    for c in paid:
        decided = _days(_month_end(_date(c.submitted)))
        late = stream.random() < 0.03
        delay = stream.integers(35, 80) if late else stream.integers(3, 21)
        if decided + delay <= end:
            pay_lines.append((c, decided + delay))
    memo_of = {p: f"{pols[MAIN_YEAR].product(p).name_zh}金" for p in PRODUCTS}
    rows: list[tuple] = [(d, "PAYOUT", c.product, c.payout, c.claim_no, memo_of[c.product]) for c, d in pay_lines]
    # returned payouts (closed bank card) paid again, and exactly one duplicate payment
    early = [i for i, (_, d) in enumerate(pay_lines) if d <= end - 45]
    n_rev = min(len(early) - 1, max(1, round(len(pay_lines) * 0.003))) if len(early) > 1 else 0
    chosen = rng.choice(len(early), size=n_rev + 1, replace=False).tolist() if len(early) > 1 else []
    for j in chosen[:n_rev]:
        c, d = pay_lines[early[j]]
        back = d + stream.integers(4, 15)
        rows.append((back, "REVERSAL", c.product, c.payout, c.claim_no, "银行卡已注销 款项退回"))
        rows.append((back + stream.integers(6, 25), "PAYOUT", c.product, c.payout, c.claim_no, "更换银行卡后重新支付"))
    if chosen:
        c, d = pay_lines[early[chosen[-1]]]
        rows.append((d + stream.integers(1, 7), "PAYOUT", c.product, c.payout, c.claim_no, memo_of[c.product]))
    if rows:
        cols = list(zip(*rows))
        add(np.asarray(cols[0]), np.asarray(cols[1], dtype=object), np.asarray(cols[2], dtype=object),
            np.asarray(cols[3]), np.asarray(cols[4], dtype=object), np.asarray(cols[5], dtype=object))

    # monthly transfer fees and interest on the month-end balance (computed in date order)
    d_all = np.concatenate(dates)
    t_all = np.concatenate(types)
    f_all = np.concatenate(fens)
    signed = np.where(np.isin(t_all, list(_INFLOW)), f_all, -f_all)
    rank = np.asarray([_ORDER[t] for t in t_all.tolist()])
    order = np.lexsort((rank, d_all))
    cum = np.cumsum(signed[order])
    sorted_dates = d_all[order]
    month_end = _month_end(YEAR_START)
    carried = 0   # fees and interest booked so far
    extra: list[tuple] = []
    while _days(month_end) <= end:
        me = _days(month_end)
        upto = int(np.searchsorted(sorted_dates, me, side="right"))
        ms = _days(month_end.replace(day=1))
        in_month = (sorted_dates[:upto] >= ms) & (t_all[order][:upto] == "PAYOUT")
        balance = (int(cum[upto - 1]) if upto else 0) + carried
        transfers = int(in_month.sum())
        if transfers:
            fee = transfers * TRANSFER_FEE_FEN
            extra.append((me, "FEE", "", fee, "", f"银行代发手续费 {transfers}笔"))
            balance -= fee
            carried -= fee
        num, den = INTEREST_PER_MONTH
        interest = balance * num // den if balance > 0 else 0
        if interest > 0:
            extra.append((me, "INTEREST", "", interest, "", "活期存款利息"))
            carried += interest
        month_end = _month_end(month_end + dt.timedelta(days=1))
    if extra:
        cols = list(zip(*extra))
        add(np.asarray(cols[0]), np.asarray(cols[1], dtype=object), np.asarray(cols[2], dtype=object),
            np.asarray(cols[3]), np.asarray(cols[4], dtype=object), np.asarray(cols[5], dtype=object))

    d_all = np.concatenate(dates)
    t_all = np.concatenate(types)
    rank = np.asarray([_ORDER[t] for t in t_all.tolist()])
    order = np.lexsort((rank, d_all))   # stable: same day and type keep their order of creation
    d_sorted = d_all[order]
    year = _years(d_sorted)
    starts = np.r_[0, np.flatnonzero(year[1:] != year[:-1]) + 1]
    serial = np.arange(len(year)) - np.repeat(starts, np.diff(np.r_[starts, len(year)])) + 1
    f_all = np.concatenate(fens)
    flows = {t: int(f_all[t_all == t].sum()) for t in _ORDER}
    columns = {
        "entry_date": _date_strings(d_sorted),
        "voucher_no": [f"V{y}-{k:06d}" for y, k in zip(year.tolist(), serial.tolist())],
        "entry_type": t_all[order], "product": np.concatenate(prods)[order], "amount": _fen_strings(f_all[order]),
        "reference": np.concatenate(refs)[order], "memo": np.concatenate(memos)[order],
    }
    return columns, flows


# --- figures ----------------------------------------------------------------------------------------
def _figures(sc: Scale, seed: int, w: _World, claims: list[_Claim], messy: dict, batches: list[Path],
             ledger_lines: int, flows: dict[str, int]) -> dict:
    year = _years(w.e_start)

    def enrolled(product: int, y: int) -> int:
        return int(((w.e_product == product) & (year == y)).sum())

    payable = [c for c in claims if c.status in (APPROVED, PENDING_REVIEW)]
    in_main = [c for c in payable if _date(c.event).year == MAIN_YEAR]
    hosp = [c for c in in_main if c.product == "HOSP"]
    status = {s: sum(1 for c in claims if c.status == s) for s in (APPROVED, PENDING_REVIEW, REJECTED)}
    money = lambda fen: from_fen(fen)  # noqa: E731
    return {
        "scale": sc.name, "seed": seed,
        "units": int(len(w.unit_code)),
        "largest_unit": int(w.unit_size.max()),
        "hosp_members": enrolled(0, MAIN_YEAR),
        "women_members": enrolled(1, MAIN_YEAR),
        "hosp_members_2026": enrolled(0, MAIN_YEAR + 1),
        "women_members_2026": enrolled(1, MAIN_YEAR + 1),
        "premiums": money(int(w.e_premium.sum())),
        "claims": len(claims),
        "claims_hosp": sum(1 for c in claims if c.product == "HOSP"),
        "claims_women": sum(1 for c in claims if c.product == "WOMEN"),
        "claims_2025": sum(1 for c in claims if _date(c.event).year == MAIN_YEAR),
        "claim_batches": len(batches),
        "messy": messy,
        "estimated_status": status,
        # approved + pending review (what is paid once the auditors have passed the pending ones)
        "estimated_payout": money(sum(c.payout for c in payable)),
        "estimated_payout_2025": money(sum(c.payout for c in in_main)),
        "estimated_claims_paid_2025": len(in_main),
        # under the names of REFERENCE, as the demo counts them after adjudicating every batch:
        # the claims approved with a payout, and their total (without the pending ones)
        "claims_paid": sum(1 for c in claims if c.status == APPROVED and c.payout > 0),
        "payout_yuan": money(sum(c.payout for c in claims if c.status == APPROVED)),
        "estimated_approved": money(sum(c.payout for c in claims if c.status == APPROVED)),
        "estimated_pending": money(sum(c.payout for c in claims if c.status == PENDING_REVIEW)),
        "estimated_hosp_average_2025": money(sum(c.payout for c in hosp) // len(hosp)) if hosp else Decimal("0.00"),
        "largest_payout": money(max((c.payout for c in payable), default=0)),
        "ledger_lines": ledger_lines,
        "ledger_paid": money(flows.get("PAYOUT", 0) - flows.get("REVERSAL", 0)),
    }


if __name__ == "__main__":  # python -m mutualaid.generate tongliao 1 out/
    import sys
    import time

    t0 = time.perf_counter()
    arg = sys.argv[1] if len(sys.argv) > 1 else "tongliao"
    result = generate(int(arg) if arg.isdigit() else arg, int(sys.argv[2]) if len(sys.argv) > 2 else 1,
                      Path(sys.argv[3] if len(sys.argv) > 3 else "out"))
    for key, value in result.figures.items():
        print(f"{key:30} {value}")
    print(f"{'seconds':30} {time.perf_counter() - t0:.1f}")
