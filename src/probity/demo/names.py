"""Word lists for the demo country: personal and company names in Latin, Cyrillic and Chinese script.

Everything here is fixed data, so generated countries do not change when a third-party name
library is upgraded. Scripts are ISO 15924 codes: ``Latn``, ``Cyrl`` and ``Hans`` (simplified Han).
"""

from __future__ import annotations

# --- people -------------------------------------------------------------------------------------

# Chinese family names: (pinyin, simplified Han, Cyrillic by the Palladius system).
CN_FAMILY: tuple[tuple[str, str, str], ...] = (
    ("Zhang", "张", "Чжан"),
    ("Wang", "王", "Ван"),
    ("Li", "李", "Ли"),
    ("Liu", "刘", "Лю"),
    ("Chen", "陈", "Чэнь"),
    ("Yang", "杨", "Ян"),
    ("Zhao", "赵", "Чжао"),
    ("Huang", "黄", "Хуан"),
    ("Zhou", "周", "Чжоу"),
    ("Wu", "吴", "У"),
    ("Xu", "徐", "Сюй"),
    ("Sun", "孙", "Сунь"),
    ("Hu", "胡", "Ху"),
    ("Zhu", "朱", "Чжу"),
    ("Gao", "高", "Гао"),
    ("Lin", "林", "Линь"),
    ("He", "何", "Хэ"),
    ("Guo", "郭", "Го"),
    ("Ma", "马", "Ма"),
    ("Luo", "罗", "Ло"),
)

# Chinese given names: (pinyin, Han, Cyrillic, gender).
CN_GIVEN: tuple[tuple[str, str, str, str], ...] = (
    ("Wei", "伟", "Вэй", "male"),
    ("Qiang", "强", "Цян", "male"),
    ("Lei", "磊", "Лэй", "male"),
    ("Jun", "军", "Цзюнь", "male"),
    ("Yong", "勇", "Юн", "male"),
    ("Jie", "杰", "Цзе", "male"),
    ("Tao", "涛", "Тао", "male"),
    ("Ming", "明", "Мин", "male"),
    ("Chao", "超", "Чао", "male"),
    ("Gang", "刚", "Ган", "male"),
    ("Bo", "博", "Бо", "male"),
    ("Hao", "浩", "Хао", "male"),
    ("Yu", "宇", "Юй", "male"),
    ("Jianguo", "建国", "Цзяньго", "male"),
    ("Zhiqiang", "志强", "Чжицян", "male"),
    ("Fang", "芳", "Фан", "female"),
    ("Na", "娜", "На", "female"),
    ("Min", "敏", "Минь", "female"),
    ("Jing", "静", "Цзин", "female"),
    ("Li", "丽", "Ли", "female"),
    ("Yan", "艳", "Янь", "female"),
    ("Juan", "娟", "Цзюань", "female"),
    ("Xiuying", "秀英", "Сюин", "female"),
    ("Hui", "慧", "Хуэй", "female"),
    ("Xin", "欣", "Синь", "female"),
    ("Ying", "颖", "Ин", "female"),
    ("Lan", "兰", "Лань", "female"),
    ("Mei", "梅", "Мэй", "female"),
    ("Dan", "丹", "Дань", "female"),
    ("Xiaohong", "小红", "Сяохун", "female"),
)

# Russian given names: (Latin, Cyrillic, gender).
RU_GIVEN: tuple[tuple[str, str, str], ...] = (
    ("Ivan", "Иван", "male"),
    ("Sergei", "Сергей", "male"),
    ("Dmitry", "Дмитрий", "male"),
    ("Alexei", "Алексей", "male"),
    ("Nikolai", "Николай", "male"),
    ("Mikhail", "Михаил", "male"),
    ("Andrei", "Андрей", "male"),
    ("Pavel", "Павел", "male"),
    ("Oleg", "Олег", "male"),
    ("Yuri", "Юрий", "male"),
    ("Olga", "Ольга", "female"),
    ("Natalia", "Наталья", "female"),
    ("Elena", "Елена", "female"),
    ("Irina", "Ирина", "female"),
    ("Anna", "Анна", "female"),
    ("Tatiana", "Татьяна", "female"),
    ("Yulia", "Юлия", "female"),
    ("Maria", "Мария", "female"),
    ("Svetlana", "Светлана", "female"),
    ("Ekaterina", "Екатерина", "female"),
)

# Russian family names in the masculine form (Latin, Cyrillic); the feminine form adds -a / -а.
RU_FAMILY: tuple[tuple[str, str], ...] = (
    ("Ivanov", "Иванов"),
    ("Petrov", "Петров"),
    ("Smirnov", "Смирнов"),
    ("Kuznetsov", "Кузнецов"),
    ("Popov", "Попов"),
    ("Volkov", "Волков"),
    ("Sokolov", "Соколов"),
    ("Morozov", "Морозов"),
    ("Novikov", "Новиков"),
    ("Fedorov", "Федоров"),
    ("Orlov", "Орлов"),
    ("Lebedev", "Лебедев"),
    ("Kozlov", "Козлов"),
    ("Pavlov", "Павлов"),
    ("Belov", "Белов"),
    ("Zaitsev", "Зайцев"),
    ("Vasiliev", "Васильев"),
    ("Romanov", "Романов"),
    ("Gusev", "Гусев"),
    ("Titov", "Титов"),
)

# Names of Demoland's majority, written in Latin script (Cyrillic forms come from ``to_cyrillic``).
NATIVE_GIVEN: tuple[tuple[str, str], ...] = (
    ("Adrian", "male"),
    ("Bruno", "male"),
    ("Cyril", "male"),
    ("Damir", "male"),
    ("Elias", "male"),
    ("Filip", "male"),
    ("Gabriel", "male"),
    ("Hugo", "male"),
    ("Ilan", "male"),
    ("Jonas", "male"),
    ("Kamil", "male"),
    ("Leon", "male"),
    ("Marek", "male"),
    ("Nikolas", "male"),
    ("Oskar", "male"),
    ("Rafael", "male"),
    ("Stefan", "male"),
    ("Tomas", "male"),
    ("Viktor", "male"),
    ("Emil", "male"),
    ("Alma", "female"),
    ("Bianca", "female"),
    ("Clara", "female"),
    ("Daria", "female"),
    ("Flora", "female"),
    ("Greta", "female"),
    ("Hana", "female"),
    ("Ines", "female"),
    ("Jana", "female"),
    ("Klara", "female"),
    ("Lina", "female"),
    ("Mira", "female"),
    ("Nora", "female"),
    ("Olivia", "female"),
    ("Petra", "female"),
    ("Rosa", "female"),
    ("Sara", "female"),
    ("Tereza", "female"),
    ("Vera", "female"),
    ("Zora", "female"),
)

NATIVE_FAMILY: tuple[str, ...] = (
    "Adamic",
    "Baros",
    "Cerny",
    "Dalen",
    "Esposito",
    "Faber",
    "Galic",
    "Horvat",
    "Ivanic",
    "Jurak",
    "Kovac",
    "Lazar",
    "Marin",
    "Novak",
    "Orban",
    "Petrak",
    "Radan",
    "Sorel",
    "Tomic",
    "Urban",
    "Valen",
    "Zoric",
    "Balog",
    "Moravec",
    "Kral",
    "Sedlak",
    "Vidal",
    "Rossi",
    "Ferreira",
    "Almeida",
    "Brandt",
    "Costa",
    "Dorn",
    "Ekberg",
    "Holm",
    "Lind",
    "Meyer",
    "Nilsen",
    "Santos",
    "Weber",
)

# --- companies ----------------------------------------------------------------------------------

LATIN_ADJECTIVES: tuple[str, ...] = (
    "Northern",
    "Summit",
    "Blue River",
    "Atlas",
    "Meridian",
    "Crescent",
    "Granite",
    "Harbor",
    "Pioneer",
    "Sterling",
    "Silver Oak",
    "Eastgate",
    "Horizon",
    "Keystone",
    "Lakeside",
    "Redstone",
    "Evergreen",
    "Triton",
    "Vertex",
    "Cedar",
    "Orion",
    "Beacon",
    "Falcon",
    "Riverside",
    "Westbridge",
    "Golden Field",
)

LATIN_FORMS: tuple[tuple[str, str], ...] = (("LLC", "ООО"), ("JSC", "АО"), ("Ltd", "ООО"))

# Chinese trade-name prefixes: (pinyin, Han, Cyrillic).
CN_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("Jinqiao", "金桥", "Цзиньцяо"),
    ("Hongsheng", "宏盛", "Хуншэн"),
    ("Huaxin", "华信", "Хуасинь"),
    ("Dongfang", "东方", "Дунфан"),
    ("Changcheng", "长城", "Чанчэн"),
    ("Hengtai", "恒泰", "Хэнтай"),
    ("Xinda", "信达", "Синьда"),
    ("Zhongtian", "中天", "Чжунтянь"),
    ("Taihe", "泰和", "Тайхэ"),
    ("Ruifeng", "瑞丰", "Жуйфэн"),
    ("Anda", "安达", "Аньда"),
    ("Shengshi", "盛世", "Шэнши"),
)

# Sector code → (OCDS mainProcurementCategory, English word, Russian word (Latin, Cyrillic),
# Chinese word (pinyin, Han, Cyrillic), tender titles).
SECTORS: dict[str, tuple[str, str, tuple[str, str], tuple[str, str, str], tuple[str, ...]]] = {
    "construction": (
        "works",
        "Construction",
        ("Stroy", "Строй"),
        ("Jianshe", "建设", "Цзяньшэ"),
        (
            "Renovation of office building",
            "Construction of a district clinic",
            "Roof repair of school buildings",
            "Extension of the regional archive",
            "Refurbishment of border posts",
        ),
    ),
    "roads": (
        "works",
        "Road Works",
        ("Dorstroy", "Дорстрой"),
        ("Luqiao", "路桥", "Луцяо"),
        (
            "Resurfacing of a national road section",
            "Bridge maintenance",
            "Road marking and signage",
            "Winter road maintenance",
            "Construction of a bypass road",
        ),
    ),
    "medical": (
        "goods",
        "Medical Supplies",
        ("Medtekhnika", "Медтехника"),
        ("Yiliao", "医疗", "Ило"),
        (
            "Supply of surgical gloves",
            "Supply of X-ray equipment",
            "Supply of insulin",
            "Supply of laboratory reagents",
            "Supply of hospital beds",
            "Supply of vaccines",
        ),
    ),
    "it": (
        "goods",
        "IT Solutions",
        ("Soft", "Софт"),
        ("Keji", "科技", "Кэцзи"),
        (
            "Supply of laptops",
            "Supply of servers",
            "Software licences",
            "Network equipment",
            "Maintenance of the case management system",
            "Supply of printers",
        ),
    ),
    "office": (
        "goods",
        "Office Supplies",
        ("Kantstovary", "Канцтовары"),
        ("Bangong", "办公", "Баньгун"),
        ("Supply of paper and stationery", "Supply of office furniture", "Supply of toner cartridges"),
    ),
    "food": (
        "goods",
        "Foods",
        ("Produkt", "Продукт"),
        ("Shipin", "食品", "Шипинь"),
        ("Supply of school meals", "Supply of food for canteens", "Supply of drinking water"),
    ),
    "fuel": (
        "goods",
        "Energy",
        ("Energo", "Энерго"),
        ("Nengyuan", "能源", "Нэнъюань"),
        ("Supply of vehicle fuel", "Supply of heating oil", "Supply of electricity"),
    ),
    "consulting": (
        "services",
        "Consulting",
        ("Konsalt", "Консалт"),
        ("Zixun", "咨询", "Цзысюнь"),
        (
            "Audit of financial statements",
            "Feasibility study",
            "Legal advisory services",
            "Training of staff",
        ),
    ),
    "security": (
        "services",
        "Security Services",
        ("Okhrana", "Охрана"),
        ("Anbao", "安保", "Аньбао"),
        ("Guarding of premises", "Video surveillance maintenance", "Cash-in-transit services"),
    ),
    "cleaning": (
        "services",
        "Facility Services",
        ("Klining", "Клининг"),
        ("Wuye", "物业", "Уе"),
        ("Cleaning of premises", "Waste collection", "Facility management"),
    ),
    "transport": (
        "services",
        "Logistics",
        ("Trans", "Транс"),
        ("Wuliu", "物流", "Улю"),
        ("Freight transport services", "Vehicle leasing", "Courier services"),
    ),
    "printing": (
        "services",
        "Printing",
        ("Print", "Принт"),
        ("Yinwu", "印务", "Иньу"),
        ("Printing of ballot papers", "Printing of textbooks", "Printing of forms and certificates"),
    ),
}

HOLDING_WORDS = ("Holdings", ("Kholding", "Холдинг"), ("Konggu", "控股", "Кунгу"))

# --- places -------------------------------------------------------------------------------------

CITIES: tuple[tuple[str, str], ...] = (
    ("Demopolis", "10"),
    ("Northport", "20"),
    ("Eastvale", "30"),
    ("Rivermouth", "40"),
    ("Highmoor", "50"),
    ("Lakeview", "60"),
    ("Stonebridge", "70"),
    ("Westfield", "80"),
    ("Southbay", "90"),
    ("Oldmill", "95"),
)

STREETS: tuple[str, ...] = (
    "Liberty Avenue",
    "Station Road",
    "Harbour Street",
    "Market Square",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
    "Victory Boulevard",
    "University Street",
    "Garden Row",
    "River Embankment",
    "Old Town Street",
    "Republic Square",
    "Industrial Way",
    "Airport Road",
    "Chestnut Alley",
    "Linden Street",
    "Oak Lane",
    "Railway Street",
    "Central Avenue",
    "Hill Road",
    "Lake Drive",
    "Bridge Street",
    "Castle Street",
    "Fountain Square",
    "Miners Street",
    "Harvest Road",
    "North Avenue",
    "South Street",
    "Unity Boulevard",
)

# --- transliteration ----------------------------------------------------------------------------

_DIGRAPHS = {
    "shch": "щ",
    "sh": "ш",
    "ch": "ч",
    "zh": "ж",
    "ts": "ц",
    "ya": "я",
    "yu": "ю",
    "kh": "х",
    "yo": "ё",
}
_LETTERS = {
    "a": "а",
    "b": "б",
    "c": "к",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "х",
    "i": "и",
    "j": "й",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "q": "к",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "w": "в",
    "x": "кс",
    "y": "и",
    "z": "з",
}


def to_cyrillic(text: str) -> str:
    """A simple, deterministic Latin → Cyrillic transliteration, good enough for synthetic names."""
    out: list[str] = []
    i = 0
    while i < len(text):
        for length in (4, 2):
            chunk = text[i : i + length]
            if chunk.lower() in _DIGRAPHS:
                mapped = _DIGRAPHS[chunk.lower()]
                out.append(mapped.upper() if chunk[0].isupper() else mapped)
                i += length
                break
        else:
            char = text[i]
            letter = _LETTERS.get(char.lower())
            if letter is None:
                out.append(char)
            else:
                out.append(letter[0].upper() + letter[1:] if char.isupper() else letter)
            i += 1
    return "".join(out)
