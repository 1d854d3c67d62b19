"""What generated people, enterprises and cases look like (bench.datagen): names, places, phrases, identity
numbers and credit codes derived from ids (a bijection, so runs never collide), and the placeholder licence PDF."""

from __future__ import annotations

import datetime as dt

from services.identity.identifiers import resident_id_check_char, uscc_check_char

# -- shapes of the data ----------------------------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
            "向汤欧")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅琳晓东文辉宇浩然子轩梓涵欣怡"
         "雨萱思远嘉怡俊杰家豪佳琪诗婷泽宇晨曦博文一鸣海燕丹丹佩珊颖慧锦荣永康振华国强淑芬少华美玲")
TRADE_NAMES = ("粤香 食味 顺记 好运来 聚福 南粤 金龙 利苑 陶陶 大同 泮溪 广和 银记 陈添 炳胜 点都德 惠食佳 "
               "荔湾 海珠 越秀 天河 白云 东山 西关 老字号 回味 满记 福满楼 鸿星 新亚 丰收 四季 湘聚 川味 "
               "潮汕 客家 顺德 清平 北园 南园").split()
SHOP_KINDS = ("小馆", "酒家", "茶餐厅", "面馆", "粥铺", "烧腊", "火锅", "食堂", "大排档", "点心")
COMPANY_KINDS = ("餐饮管理有限公司", "饮食有限公司", "餐饮有限公司", "食品有限公司", "美食有限公司")
DISTRICTS = ("天河区", "越秀区", "海珠区", "荔湾区", "白云区", "黄埔区", "番禺区", "花都区", "南沙区", "从化区",
             "增城区")
ROADS = ("天河路", "体育东路", "中山五路", "北京路", "江南大道", "上下九路", "广州大道", "黄埔大道", "环市东路",
         "东风中路", "工业大道", "南华西路", "龙口西路", "五羊新城路", "新港中路", "滨江东路", "机场路", "桥南路")
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                   "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186", "187",
                   "188", "189", "199")
# Areas of Guangdong; the demo accounts' areas (440106, 440104, 440111) are left out so that no generated identity
# number or credit code can equal a demo one.
RESIDENT_AREAS = ("440103", "440105", "440112", "440113", "440114", "440115", "440117", "440118", "440303", "440304",
                  "440305", "440306", "440604", "440605", "441302", "445102")
ENTERPRISE_AREAS = ("440103", "440105", "440112", "440113", "440114", "440115", "440117", "440118")
SUPPLEMENT_ITEMS = ("营业执照副本", "经营场所租赁合同", "厨房布局平面图", "从业人员健康证明", "消防设施平面图",
                    "油烟净化设施说明", "招牌效果图", "法定代表人身份证复印件")
REFUSALS = ("经营场所不符合食品安全要求，厨房与就餐区未有效分隔。", "消防通道被占用，安全出口数量不足。",
            "招牌设置位置不符合城市容貌标准。", "油烟排放设施未达到环保要求。")
APPROVAL_OPINIONS = ("", "", "", "同意。", "符合要求，准予许可。")
PAUSE_REASONS = ("委托第三方机构进行现场检测", "组织专家评审", "召开听证会")
BIRTH_FIRST = dt.date(1955, 1, 1).toordinal()
BIRTH_DAYS = 20_089  # 1955-01-01 to 2009-12-31
ID_SPACE = BIRTH_DAYS * len(RESIDENT_AREAS) * 1000
ID_MULTIPLIER = 1_000_003  # coprime with ID_SPACE: a bijection of [0, ID_SPACE)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_SPACE = 31 ** 6
ORG_MULTIPLIER = 7_368_787  # coprime with 31**6
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def resident_id_for(n: int) -> str:
    """A valid, unique resident identity number for the non-negative integer ``n`` (a bijection below 3.2e8)."""
    k = (n * ID_MULTIPLIER) % ID_SPACE
    day, k = k % BIRTH_DAYS, k // BIRTH_DAYS
    area, sequence = RESIDENT_AREAS[k % len(RESIDENT_AREAS)], k // len(RESIDENT_AREAS)
    first17 = f"{area}{dt.date.fromordinal(BIRTH_FIRST + day):%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def _org_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_for(n: int, area: str) -> str:
    """A valid, unique unified social credit code (enterprise, registered with market supervision) for ``n``."""
    k = (n * ORG_MULTIPLIER) % ORG_SPACE
    chars = []
    for _ in range(6):
        k, digit = divmod(k, 31)
        chars.append(USCC_ALPHABET[digit])
    body = "MA" + "".join(chars)
    first17 = f"91{area}{body}{_org_check(body)}"
    return first17 + uscc_check_char(first17)


def placeholder_pdf() -> bytes:
    """A tiny one-page PDF that says what it is; generated licences carry it instead of a signed licence."""
    content = b"BT /F1 18 Tf 72 720 Td (Generated for benchmarks - not a licence) Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
