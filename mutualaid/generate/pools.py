"""The word lists the generated people, employers, hospitals and diagnoses are drawn from.

Weighted specs as plain strings ("item:weight ..."; surnames "王8 李8", the weight after
the character) so a reader can see and tune the mix in one place; :func:`weighted` turns
one into items and probabilities. The CSV writer does no quoting, so no entry may hold a
comma, a quote or a line break: checked when this module is imported.
"""
from __future__ import annotations

import re

import numpy as np

HAN_SURNAMES = (
    "王8 李8 张7.5 刘6 赵3 杨3 孙2.5 高2 于1.8 马1.6 郭1.5 陈1.5 徐1.2 周1.2 吴1.1 韩1 朱1 "
    "孟.9 宋.9 胡.8 董.8 姜.8 白.8 冯.7 曹.7 田.7 何.6 梁.6 许.6 吕.6 苏.6 贾.6 魏.6 任.6 崔.6 "
    "林.5 罗.5 唐.5 程.5 袁.5 卢.5 丁.5 杜.5 范.5 石.5 金.5 郝.5 武.5 邢.5 邓.4 蒋.4 薛.4 阎.4 "
    "姚.4 史.4 侯.4 常.4 傅.3 沈.3 曾.3 彭.3 蔡.3 叶.3 潘.3 夏.3 方.3 孔.3 康.3 毛.3 秦.3 邵.3 "
    "段.3 尹.3 乔.3 贺.3 安.3 牛.3 齐.3 关.3 戴.2 钟.2 汪.2 谭.2 邹.2 熊.2 陆.2 邱.2 江.2 顾.2 "
    "万.2 雷.2 钱.2 汤.2 文.2 庞.2 樊.2 陶.2 翟.2 严.2 温.2 鲁.2 葛.2 毕.2 聂.2 焦.2 岳.2 佟.2 "
    "廖.1 龙.1 黎.1 易.1 赖.1 龚.1 兰.1 殷.1 施.1 洪.1 颜.1 倪.1 芦.1 季.1 俞.1 章.1 伍.1 韦.1 "
    "申.1 尤.1 丛.1 向.1 柳.1 那.1"
)
MONGOL_SURNAMES = "包5 白3 宝1.5 鲍1 韩1 吴1 敖.8 佟.5 那.4 海.3 齐.3 金.3 乌.3 陈.2 额.2"
HAN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆亮峰成龙林东海建国志文新春立永宏振庆学德金福山民兴旭晨博昊晓军彪力忠义广胜长青松柏"
HAN_FEMALE = "芳娜敏静丽艳秀英霞燕玲红梅莉婷雪琳洁颖欣慧倩晶璐丹萍爽楠月娟佳悦蕾薇琪宁玉兰凤华春云微雅馨茹媛琴桂荣"
MONGOL_MALE = (
    "巴特尔 额尔敦 苏和 朝鲁 毕力格 呼和 阿拉坦 特木尔 宝音 那顺 斯琴巴图 孟和 吉日嘎拉 乌力吉 图门 "
    "哈斯 巴图 满都拉 达来 额尔德尼 布和 青格勒 胡日查 宝力道 格日勒图 敖其尔 扎那 朝格图 巴雅尔 阿木尔"
).split()
MONGOL_FEMALE = (
    "其其格 乌日娜 萨仁 斯琴 托娅 高娃 娜仁 图雅 苏日娜 格日乐 塔娜 乌兰 琪琪格 阿茹娜 萨日娜 乌云 "
    "哈斯其其格 吉雅 斯琴高娃 诺敏 娜日苏 乌日汗 那仁花 其木格 敖登 阿拉坦其其格 包日玛 额尔敦其其格"
).split()

TONGLIAO_REGIONS = (
    "150502:40 150521:12 150522:8 150523:9 150524:5 150525:8 150526:5 150581:4 "
    "150402:2 150404:1 152201:2 150102:1 210902:1.5 220702:1 211402:.5"
)
PROVINCE_REGIONS = (
    "150102:3 150103:2 150104:2 150105:3 150121:1 150202:2 150203:3 150204:2.5 150205:.3 "
    "150207:1.5 150302:1.5 150402:3 150403:1.5 150404:3 150421:1 150422:1 150426:1.2 150428:1 "
    "150429:1.5 150430:1.5 150502:4 150521:1.5 150522:1 150523:1.2 150524:.6 150525:1 150526:.7 "
    "150581:.6 150602:2.5 150603:.7 150621:1.3 150627:1 150702:2 150781:1 150782:1 150783:1.2 "
    "150802:2 150821:1 150902:1.5 150921:.6 152201:1.5 152221:1 152501:.3 152502:1.2 152921:.8"
)
TONGLIAO_PLACES = ("通辽市 科尔沁区 科尔沁左翼中旗 科尔沁左翼后旗 开鲁县 库伦旗 奈曼旗 扎鲁特旗 "
                    "霍林郭勒市 通辽经济技术开发区").split()
PROVINCE_PLACES = ("呼和浩特市 包头市 乌海市 赤峰市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市 乌兰察布市 兴安盟 "
                    "锡林郭勒盟 阿拉善盟 新城区 回民区 赛罕区 昆都仑区 青山区 红山区 松山区 东胜区 "
                    "海拉尔区 临河区 集宁区 乌兰浩特市 锡林浩特市 满洲里市 二连浩特市 牙克石市 扎兰屯市 "
                    "宁城县 敖汉旗 达拉特旗 伊金霍洛旗").split()
TONGLIAO_TOWNS = ("大林镇 钱家店镇 木里图镇 余粮堡镇 庆和镇 敖力布皋镇 莫力庙苏木 甘旗卡镇 保康镇 "
                   "舍伯吐镇 大沁他拉镇 八仙筒镇 开鲁镇 东风镇 库伦镇 鲁北镇 巨日合镇 珠日河镇").split()
PUBLIC_ORGS = (
    "第一中学 第二中学 第三中学 第四中学 第五中学 第六中学 第七中学 第八中学 实验中学 蒙古族中学 "
    "第一小学 第二小学 第三小学 第四小学 第五小学 实验小学 蒙古族小学 职业教育中心 幼儿园 人民医院 "
    "中医医院 蒙医医院 妇幼保健院 疾病预防控制中心 卫生健康委员会 税务局 财政局 公安局 交通运输局 "
    "自然资源局 住房和城乡建设局 农牧局 林业和草原局 水利局 民政局 审计局 统计局 市场监督管理局 "
    "人力资源和社会保障局 医疗保障局 生态环境局 文化旅游体育局 应急管理局 人民法院 人民检察院 "
    "供电公司 自来水公司 热力公司 燃气公司 公共交通公司 邮政分公司 移动分公司 联通分公司 电信分公司 "
    "农村商业银行 烟草专卖局 粮食储备库 气象局 广播电视台 融媒体中心 图书馆 档案馆 环卫中心 "
    "城市管理综合执法局"
).split()
TOWN_ORGS = "中心学校 卫生院 人民政府 中心幼儿园 财政所 畜牧兽医站 农业服务中心".split()
BIG_ORGS = ("供电公司 热电厂 煤业集团公司 铝业有限责任公司 发电有限责任公司 人民医院 中心医院 "
             "教育系统 公安局 铁路车务段 矿业有限公司 生物科技有限公司 城市投资集团").split()
BRANDS = ("宏达 鑫源 蒙兴 草原 金牛 天骄 嘉禾 恒泰 盛世 科沁 广源 利民 顺通 兴旺 金石 瑞丰 安达 永泰 "
           "东升 鸿运 通达 新天地 金秋 龙腾 骏马 白音 塔拉 乌兰 海川 泰和 隆昌 祥和 裕民 德润 宝山 "
           "昊天 北疆 万通 绿源 众诚 华联 远航 星火 青城 西拉木伦 辽河 罕山 大青沟 孝庄 福瑞").split()
INDUSTRIES = ("建筑工程 商贸 物流 农牧业 乳业 食品 化工 建材 运输 物业服务 餐饮 酒店管理 药业 能源 "
               "煤炭 电力工程 汽车销售 农机 种业 饲料 羊绒 肉业 印刷 家具 装饰工程 环保科技 信息技术 "
               "安保服务 劳务 机械制造").split()
BANK_BINS = ((("622202", 19), 3), (("621700", 19), 3), (("622848", 19), 3), (("621661", 19), 1.5),
              (("623052", 19), 1), (("622908", 18), .5), (("621226", 19), 1), (("622700", 19), 1),
              (("621098", 19), 1.5), (("625966", 16), .5), (("622588", 16), .8), (("621483", 16), .5),
              (("622609", 17), .3), (("623668", 19), .8))

TONGLIAO_HOSPITALS = (
    "通辽市医院:14 内蒙古民族大学附属医院:12 通辽市科尔沁区第一人民医院:9 通辽市中医医院:6 "
    "通辽市蒙医整骨医院:4 通辽市传染病医院:1 通辽市妇幼保健院:2 开鲁县医院:5 奈曼旗人民医院:5 "
    "库伦旗人民医院:3 扎鲁特旗人民医院:4 科尔沁左翼中旗人民医院:5 科尔沁左翼后旗人民医院:4 "
    "霍林郭勒市人民医院:3 内蒙古医科大学附属医院:1 中国医科大学附属第一医院:2 "
    "中国医科大学附属盛京医院:1.5 吉林大学第一医院:1 北京协和医院:.3"
)
PROVINCE_HOSPITALS = (
    "内蒙古自治区人民医院:8 内蒙古医科大学附属医院:8 包头市中心医院:6 包头医学院第一附属医院:5 "
    "赤峰市医院:6 赤峰学院附属医院:3 通辽市医院:5 内蒙古民族大学附属医院:4 鄂尔多斯市中心医院:5 "
    "呼伦贝尔市人民医院:4 巴彦淖尔市医院:3 乌兰察布市中心医院:3 兴安盟人民医院:3 锡林郭勒盟医院:2 "
    "阿拉善盟中心医院:1 乌海市人民医院:2 北京协和医院:.5 中国医科大学附属第一医院:.8"
)
TERTIARY = {"内蒙古民族大学附属医院", "通辽市医院", "内蒙古医科大学附属医院", "中国医科大学附属第一医院",
             "中国医科大学附属盛京医院", "吉林大学第一医院", "北京协和医院", "内蒙古自治区人民医院",
             "包头医学院第一附属医院"}

ILLNESS_CODES = (
    "J18.9:10 I63.9:9 I10:5 I25.1:6 I20.0:4 I50.9:3 E11.9:5 J44.1:5 K80.2:4 K35.8:2 K29.7:3 N20.0:3 "
    "M51.2:4 M17.9:2 C34.9:2 C16.9:1.5 C18.9:1 C22.0:1 I61.9:1.5 N18.5:1 J20.9:3 K92.2:1 H25.9:3 "
    "G45.9:2 A09:1 B18.1:1 K56.7:1 I48:1 J45.9:1 K85.9:1"
)
SERIOUS_CODES = "C34.9:3 C16.9:2 C22.0:2 C18.9:1 C92.0:1 I61.9:2 I21.9:2 N18.5:1 S06.5:1 K72.0:.5"
INJURY_CODES = "S72.0:3 S82.2:2 S06.0:2 S52.5:2 S32.0:1 S22.4:1 T14.0:1 S42.2:1"
CAUSE_CODES = {"maternity": "O80:3 O82:2", "cosmetic": "Z41.1:1", "self_harm": "T60.0:2 T42.4:1"}

# WOMEN: (share of WOMEN claims, code weights, surgery weights, pathology-Y share)
WOMEN_DIAGNOSES = (
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

FORBIDDEN = re.compile(r'[,"\r\n]')


def weighted(spec: str, sep: str = ":") -> tuple[list[str], np.ndarray]:
    """Items and their probabilities; ``sep=""``: one-character items with the weight after."""
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


def _check_no_quoting_needed() -> None:
    pools = [HAN_MALE, HAN_FEMALE, *MONGOL_MALE, *MONGOL_FEMALE, *TONGLIAO_PLACES, *PROVINCE_PLACES,
             *TONGLIAO_TOWNS, *PUBLIC_ORGS, *TOWN_ORGS, *BIG_ORGS, *BRANDS, *INDUSTRIES,
             TONGLIAO_HOSPITALS, PROVINCE_HOSPITALS, HAN_SURNAMES, MONGOL_SURNAMES]
    for text in pools:  # our CSV writer does no quoting: no field may need it
        assert not FORBIDDEN.search(text), text


_check_no_quoting_needed()
