#!/usr/bin/env python3
"""Deterministic generator of realistic HR identity exports, as an "old" and a "new" file.

    gen_exports.py --rows N --seed S --out-old OLD.csv --out-new NEW.csv [--adds A --updates U --removes R]

The old export has N rows; the new one is the old one with exactly A rows added (new employee ids,
some interleaved, most appended), U rows updated (one to three columns changed, never the key) and
R rows removed. Defaults: 1% adds, 4% updates, 1% removes. The expected counts are printed to stdout
as JSON. Same arguments, same bytes: everything comes from one seeded random.Random (stdlib only).

The data is meant to be hostile in the ways real exports are: names in many scripts (accents, Nordic,
Polish, Turkish dotted and dotless i, Greek, Cyrillic, CJK, Arabic, the odd emoji), apostrophes and
hyphens, quotes and commas in titles and notes, CRLF and LF inside quoted notes, empty fields, messy
phone numbers, mixed-case and space-padded emails. Rows average about 300 bytes, so 1,000,000 rows
make about 300 MB. Written by the csv module: QUOTE_MINIMAL, CRLF line ends.
"""

import argparse
import csv
import json
import random
import sys

COLUMNS = [
    "employee_id", "given_name", "family_name", "preferred_name", "email", "department", "title",
    "location", "employment_status", "employee_type", "hire_date", "termination_date", "manager_id",
    "phone", "cost_center", "country", "notes",
]
COL = {name: i for i, name in enumerate(COLUMNS)}

# (native spelling, ASCII spelling for the email), per culture, with the countries it lives in.
CULTURES = [
    # weight, given names, family names, countries
    (30, [("James", "james"), ("Mary", "mary"), ("Robert", "robert"), ("Patricia", "patricia"),
          ("Michael", "michael"), ("Jennifer", "jennifer"), ("William", "william"), ("Linda", "linda"),
          ("Mary-Kate", "marykate"), ("Jean-Luc", "jeanluc"), ("Chloë", "chloe"), ("Zoë", "zoe"),
          ("Seán", "sean"), ("Siobhán", "siobhan"), ("D'Arcy", "darcy"), ("Ann-Marie", "annmarie"),
          ("Christopher", "christopher"), ("Elizabeth", "elizabeth"), ("Daniel", "daniel"), ("Sarah", "sarah")],
     [("Smith", "smith"), ("Johnson", "johnson"), ("O'Brien", "obrien"), ("O'Connor", "oconnor"),
      ("Smith-Jones", "smithjones"), ("McDonald", "mcdonald"), ("D'Angelo", "dangelo"), ("Williams", "williams"),
      ("Brown", "brown"), ("Taylor-Wood", "taylorwood"), ("Ó Súilleabháin", "osuilleabhain"), ("Davis", "davis"),
      ("Miller", "miller"), ("Wilson", "wilson"), ("Moore", "moore"), ("Van der Berg", "vanderberg")],
     ["US", "US", "US", "GB", "IE", "CA", "AU"]),
    (10, [("José", "jose"), ("Inés", "ines"), ("François", "francois"), ("Hélène", "helene"), ("João", "joao"),
          ("Renée", "renee"), ("Ángel", "angel"), ("Begoña", "begona"), ("Jürgen", "jurgen"), ("Björn", "bjorn"),
          ("Müge", "muge"), ("Anaïs", "anais"), ("Ñuño", "nuno"), ("Gaël", "gael")],
     [("García", "garcia"), ("Müller", "muller"), ("Lefèvre", "lefevre"), ("Gonçalves", "goncalves"),
      ("Núñez", "nunez"), ("Straße", "strasse"), ("Dupont-Moreau", "dupontmoreau"), ("de la Cruz", "delacruz"),
      ("Schröder", "schroder"), ("Peña", "pena"), ("L'Écuyer", "lecuyer"), ("Fernández", "fernandez")],
     ["ES", "FR", "PT", "DE", "MX", "BR", "AT", "CH"]),
    (6, [("Åsa", "asa"), ("Bjørn", "bjorn"), ("Søren", "soren"), ("Øyvind", "oyvind"), ("Sigrún", "sigrun"),
         ("Þóra", "thora"), ("Ægir", "aegir"), ("Märta", "marta"), ("Linnéa", "linnea"), ("Jökull", "jokull")],
     [("Ångström", "angstrom"), ("Søndergaard", "sondergaard"), ("Kjærsgaard", "kjaersgaard"),
      ("Þórsson", "thorsson"), ("Guðmundsdóttir", "gudmundsdottir"), ("Øster-Hansen", "osterhansen"),
      ("Åberg", "aberg"), ("Lindqvist", "lindqvist"), ("Hämäläinen", "hamalainen")],
     ["NO", "SE", "DK", "IS", "FI"]),
    (5, [("Łukasz", "lukasz"), ("Zofia", "zofia"), ("Wojciech", "wojciech"), ("Małgorzata", "malgorzata"),
         ("Grzegorz", "grzegorz"), ("Żaneta", "zaneta"), ("Jędrzej", "jedrzej"), ("Agnieszka", "agnieszka")],
     [("Wiśniewski", "wisniewski"), ("Dąbrowska", "dabrowska"), ("Żółkiewski", "zolkiewski"),
      ("Szczęsny", "szczesny"), ("Kowalczyk", "kowalczyk"), ("Grabowska-Łęcka", "grabowskalecka")],
     ["PL"]),
    (5, [("İbrahim", "ibrahim"), ("Işıl", "isil"), ("Ayşe", "ayse"), ("Gülşen", "gulsen"), ("Çağrı", "cagri"),
         ("İlkay", "ilkay"), ("Ilgın", "ilgin"), ("Şükrü", "sukru")],
     [("Yılmaz", "yilmaz"), ("Öztürk", "ozturk"), ("Şahin", "sahin"), ("Kılıç", "kilic"), ("Doğan", "dogan"),
      ("Çelik", "celik"), ("IŞIK", "isik"), ("İnce", "ince")],
     ["TR", "DE"]),
    (4, [("Γιώργος", "giorgos"), ("Μαρία", "maria"), ("Δημήτρης", "dimitris"), ("Ελένη", "eleni"),
         ("Νίκος", "nikos"), ("Σοφία", "sofia")],
     [("Παπαδόπουλος", "papadopoulos"), ("Κωνσταντίνου", "konstantinou"), ("Οικονόμου", "oikonomou"),
      ("Γεωργίου", "georgiou"), ("Νικολάου", "nikolaou")],
     ["GR", "CY"]),
    (6, [("Иван", "ivan"), ("Ольга", "olga"), ("Сергей", "sergei"), ("Наталья", "natalya"), ("Алексей", "aleksei"),
         ("Юлия", "yulia"), ("Олександр", "oleksandr"), ("Ёлка", "yolka")],
     [("Иванов", "ivanov"), ("Смирнова", "smirnova"), ("Кузнецов", "kuznetsov"), ("Петренко", "petrenko"),
      ("Соколова-Орлова", "sokolovaorlova"), ("Шевченко", "shevchenko")],
     ["RU", "UA", "KZ", "BG", "RS"]),
    (10, [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("太郎", "taro"), ("花子", "hanako"),
          ("さくら", "sakura"), ("翔太", "shota"), ("민준", "minjun"), ("서연", "seoyeon"), ("지훈", "jihoon")],
     [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("佐藤", "sato"), ("鈴木", "suzuki"),
      ("高橋", "takahashi"), ("김", "kim"), ("이", "lee"), ("박", "park"), ("欧阳", "ouyang")],
     ["CN", "JP", "KR", "TW", "SG", "HK"]),
    (5, [("محمد", "mohammed"), ("فاطمة", "fatima"), ("أحمد", "ahmed"), ("ليلى", "layla"), ("عمر", "omar"),
         ("נועה", "noa"), ("דוד", "david")],
     [("الحسن", "alhassan"), ("العلي", "alali"), ("بن سعيد", "binsaeed"), ("المصري", "almasri"),
      ("כהן", "cohen"), ("לוי", "levi")],
     ["AE", "SA", "EG", "JO", "IL", "MA"]),
    (6, [("Amit", "amit"), ("अमित", "amit"), ("Priya", "priya"), ("प्रिया", "priya"), ("Nguyễn Văn", "nguyenvan"),
         ("Thảo", "thao"), ("Kwame", "kwame"), ("Ngozi", "ngozi"), ("Oluwaseun", "oluwaseun")],
     [("Sharma", "sharma"), ("शर्मा", "sharma"), ("Patel", "patel"), ("Nguyễn", "nguyen"), ("Trần", "tran"),
      ("N'Diaye", "ndiaye"), ("Okonkwo-Adeyemi", "okonkwoadeyemi"), ("Mensah", "mensah")],
     ["IN", "VN", "GH", "NG", "SN", "ZA"]),
]

NICKNAMES = ["Bob", "Bill", "Kate", "Liz", "Sam", "Alex", "Jo", "Max", "Chris", "Dani", "Sasha", "Kim",
             "Nico", "Ché", "Zé", "Łukaś", "Ayşe", "Seva", "Ёжик", "小王", "Mo", "Lulu", "Sam 🌟", "T.J.",
             "\"Doc\"", "Rocky 🚀", "J'nelle"]

DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Operations",
               "Customer Success", "IT", "Research & Development", "Facilities", "Procurement",
               "Sales, EMEA", "Sales, APAC", "Support (Tier 2)", "Data & Analytics", "Security", "Ventas",
               "Forschung und Entwicklung", "Ressources humaines", "Отдел кадров", "営業部"]

TITLES = ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager",
          "Account Executive", "Director, Sales", "VP, Marketing", "Financial Analyst", "HR Business Partner",
          "Counsel", "Operations Coordinator", "Customer Success Manager", "IT Support Specialist",
          "Research Scientist", "Facilities Technician", "Buyer", "Head of \"Special Projects\"",
          "Manager, Payroll & Benefits", "Intern, Summer 2024", "Data Engineer II", "Chief of Staff",
          "Security Analyst (SOC)", "Principal Architect, Cloud", "Ingénieure logiciel", "Entwickler/in",
          "Инженер-программист", "ソフトウェアエンジニア", "Product Manager – Platform", "\"Acting\" Team Lead",
          "Recruiter", "Warehouse Associate, 2nd shift"]

LOCATIONS = ["New York, NY", "San Francisco, CA", "Austin, TX", "London", "Dublin", "Oslo", "Stockholm",
             "København", "Reykjavík", "Kraków", "Warszawa", "İstanbul", "Αθήνα", "Москва", "Київ", "東京",
             "上海", "서울", "Dubai", "São Paulo", "México, D.F.", "Zürich", "München", "Paris 8e",
             "Bengaluru", "Hà Nội", "Lagos", "Remote", "Remote - US", "Building 4, Floor 2", "HQ \"Tower B\""]

NOTE_FRAGMENTS = [
    "Badge reissued after loss", "Prefers to be addressed by preferred name", "Relocating to Berlin, DE in Q3",
    "On parental leave until further notice", "Laptop: MacBook Pro 14\", asset tag", "Access to payroll system revoked",
    "Contractor via Acme Staffing, Inc.", "Works 4 days/week", "Reports dotted-line to the CFO",
    "Name changed after marriage; update directory", "VPN token re-issued", "Needs \"admin\" role in LMS",
    "Requested parking spot #42", "Visa sponsorship: H-1B", "Transferred from the Oslo office",
    "Mentor for the 2024 intern cohort", "Uses screen reader; accessible formats please",
    "Ticket INC-20931 closed", "Left a note: \"call me before 9am\"", "Sabbatical approved, 3 months",
    "Return-to-work plan agreed with manager", "Equipment returned, checklist signed", "Rehire eligible",
    "Not rehire eligible", "Shares desk with the facilities team", "Bilingual: English/Español",
    "Speaks Ελληνικά and Русский", "Café card topped up ☕", "Weekend on-call rotation", "Prefers Slack over email",
    "Emergency contact on file", "Timezone UTC+09:00", "Team offsite in Kraków, 12–14 June",
    "Legacy ID 00-4471 migrated", "Cost centre changed, see CC-2211", "Certification: CISSP, CISA",
]

STATUS = ["A", "L", "T"]
STATUS_TABLE = ["A"] * 85 + ["L"] * 5 + ["T"] * 10  # indexed by a percentile
TYPES = ["Employee", "Contractor", "Intern"]
TYPE_TABLE = ["Employee"] * 80 + ["Contractor"] * 15 + ["Intern"] * 5

# Columns an update may touch, with how often; employee_id (the key) never changes.
UPDATABLE = ["title", "department", "location", "phone", "email", "family_name", "preferred_name",
             "employment_status", "manager_id", "cost_center", "notes", "given_name", "employee_type",
             "hire_date", "country"]
UPDATE_WEIGHTS = [16, 10, 10, 10, 8, 5, 6, 8, 10, 6, 14, 1, 3, 1, 2]


def format_date(day_number):
    """MM/dd/yyyy for a day counted from 1990-01-01, with every month 28 days long (no calendar needed)."""
    year, rest = divmod(day_number, 12 * 28)
    month, day = divmod(rest, 28)
    return f"{month + 1:02d}/{day + 1:02d}/{1990 + year}"


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        rng = self.rng
        # Pools built once; rows are assembled by indexing into them.
        self.people = []  # (given, family, given_ascii, family_ascii, country)
        culture_weights = [c[0] for c in CULTURES]
        for culture in rng.choices(CULTURES, weights=culture_weights, k=20000):
            (_, givens, families, countries) = culture
            g, ga = rng.choice(givens)
            f, fa = rng.choice(families)
            self.people.append((g, f, ga, fa, rng.choice(countries)))
        self.dates = [format_date(d) for d in range(0, 36 * 12 * 28)]
        self.phones = [self._phone() for _ in range(20000)]
        self.notes = [self._note() for _ in range(30000)]
        self.cost_centers = [f"CC-{n:04d}" for n in rng.sample(range(1000, 10000), 300)]

    def _phone(self):
        r = self.rng
        a, b, c = r.randrange(200, 999), r.randrange(100, 999), r.randrange(0, 9999)
        style = r.randrange(10)
        if style == 0:
            return f"+1 ({a}) {b}-{c:04d}"
        if style == 1:
            return f"{a}.{b}.{c:04d}"
        if style == 2:
            return f"+47 {r.randrange(20, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)}"
        if style == 3:
            return f"0044 20 {r.randrange(1000, 9999)} {r.randrange(1000, 9999)}"
        if style == 4:
            return f"({a}){b}{c:04d}"
        if style == 5:
            return f"{a}-{b}-{c:04d} ext. {r.randrange(1, 999)}"
        if style == 6:
            return f"+81-3-{r.randrange(1000, 9999)}-{r.randrange(1000, 9999)}"
        if style == 7:
            return f" +48 {a} {b} {c % 1000:03d} "
        if style == 8:
            return f"+1{a}{b}{c:04d}"
        return f"{a} {b} {c:04d}"

    def _note(self):
        r = self.rng
        kind = r.random()
        if kind < 0.12:
            return ""
        parts = r.sample(NOTE_FRAGMENTS, r.choice((1, 3, 4, 4, 5, 6, 7)))
        if r.random() < 0.6:
            parts.append(f"ref #{r.randrange(10000, 99999)}, {format_date(r.randrange(12000))}")
        if r.random() < 0.04:
            # Embedded line breaks, both kinds, inside the quoted field.
            return (r.choice(("\r\n", "\n"))).join(parts)
        if r.random() < 0.01:
            parts.append(r.choice(("🎉", "👍🏽", "🇳🇴", "❤️")))
        return "; ".join(parts)

    def row(self, number, manager_ids):
        """One employee. `number` is the digits of the employee id; managers are chosen from `manager_ids`."""
        r = self.rng
        rand = r.random
        g, f, ga, fa, country = self.people[int(rand() * len(self.people))]
        status = STATUS_TABLE[int(rand() * 100)]
        hire = int(rand() * 33 * 12 * 28)
        termination = self.dates[hire + 1 + int(rand() * 700)] if status == "T" else ""
        email = f"{ga}.{fa}{number % 1000}@example.com"
        e = rand()
        if e < 0.02:
            email = email.title()
        elif e < 0.03:
            email = " " + email + " "
        x = rand()
        preferred = "" if x < 0.75 else (g if x < 0.85 else NICKNAMES[int(rand() * len(NICKNAMES))])
        return [
            f"E{number:07d}", g, f, preferred, email,
            DEPARTMENTS[int(rand() * len(DEPARTMENTS))],
            TITLES[int(rand() * len(TITLES))],
            LOCATIONS[int(rand() * len(LOCATIONS))],
            status,
            TYPE_TABLE[int(rand() * 100)],
            self.dates[hire],
            termination,
            manager_ids[int(rand() * len(manager_ids))] if rand() > 0.001 else "",
            self.phones[int(rand() * len(self.phones))] if rand() > 0.1 else "",
            self.cost_centers[int(rand() * len(self.cost_centers))],
            country,
            self.notes[int(rand() * len(self.notes))],
        ]

    def update(self, row, manager_ids):
        """A copy of `row` with one to three columns changed (always at least one really different)."""
        r = self.rng
        new = list(row)
        count = r.choice((1, 1, 1, 2, 2, 3))
        columns = set()
        while len(columns) < count:
            columns.add(r.choices(UPDATABLE, cum_weights=UPDATE_CUM)[0])
        for name in sorted(columns):
            i = COL[name]
            for _ in range(100):
                value = self._new_value(name, new, manager_ids)
                if value != row[i]:
                    break
            else:  # pragma: no cover - a pool of one would be a bug here
                raise AssertionError(f"could not change {name}")
            new[i] = value
            if name == "employment_status":
                if value == "T":
                    new[COL["termination_date"]] = self.dates[int(r.random() * len(self.dates))]
                elif row[i] == "T":
                    new[COL["termination_date"]] = ""
        assert new != row
        return new

    def _new_value(self, name, row, manager_ids):
        r = self.rng
        if name == "title":
            return r.choice(TITLES)
        if name == "department":
            return r.choice(DEPARTMENTS)
        if name == "location":
            return r.choice(LOCATIONS)
        if name == "phone":
            return r.choice(self.phones)
        if name == "email":
            local, _, _ = row[COL["email"]].strip().partition("@")
            return r.choice((f"{local}@example.com".upper(), f"{local}.{r.randrange(10, 99)}@example.com",
                             f" {local}@example.com", f"{local}@example.org"))
        if name == "family_name":
            return r.choice(self.people)[1]
        if name == "given_name":
            return r.choice(self.people)[0]
        if name == "preferred_name":
            return r.choice(NICKNAMES + [""])
        if name == "employment_status":
            return r.choice(STATUS)
        if name == "employee_type":
            return r.choice(TYPES)
        if name == "manager_id":
            return r.choice(manager_ids)
        if name == "cost_center":
            return r.choice(self.cost_centers)
        if name == "notes":
            return r.choice(self.notes)
        if name == "hire_date":
            return r.choice(self.dates[:33 * 12 * 28])
        if name == "country":
            return r.choice(("US", "GB", "DE", "NO", "PL", "TR", "JP", "IN", "BR"))
        raise KeyError(name)


def cumulative(weights):
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


UPDATE_CUM = cumulative(UPDATE_WEIGHTS)


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8", buffering=1 << 22) as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        w.writerow(COLUMNS)
        w.writerows(rows)


def generate(rows, seed, adds, updates, removes):
    """The old rows, the new rows and the expected counts."""
    if rows < 1:
        raise ValueError("--rows must be at least 1")
    if removes + updates > rows:
        raise ValueError("--updates plus --removes cannot exceed --rows")
    gen = Generator(seed)
    rng = gen.rng
    # Unique ids in no particular order (exports are rarely sorted by key).
    numbers = rng.sample(range(1, 10_000_000), rows + adds)
    old_numbers, add_numbers = numbers[:rows], numbers[rows:]
    managers = [f"E{n:07d}" for n in old_numbers[:max(1, rows // 20)]]
    old = [gen.row(n, managers) for n in old_numbers]

    touched = rng.sample(range(rows), removes + updates)
    removed = set(touched[:removes])
    updated = set(touched[removes:])
    new = []
    for i, row in enumerate(old):
        if i in removed:
            continue
        new.append(gen.update(row, managers) if i in updated else row)
    # A quarter of the adds interleaved at random places, the rest appended (new hires at the end).
    fresh = [gen.row(n, managers) for n in add_numbers]
    interleaved = adds // 4
    positions = sorted(rng.randrange(len(new) + 1) for _ in range(interleaved))
    merged, start = [], 0
    for position, row in zip(positions, fresh[:interleaved]):
        merged.extend(new[start:position])
        merged.append(row)
        start = position
    merged.extend(new[start:])
    merged.extend(fresh[interleaved:])
    expected = {
        "old_rows": rows, "new_rows": len(merged), "added": adds, "updated": updates, "removed": removes,
        "unchanged": rows - updates - removes, "seed": seed,
    }
    return old, merged, expected


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, required=True, help="rows in the old export")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out-old", required=True)
    p.add_argument("--out-new", required=True)
    p.add_argument("--adds", type=int, help="rows added in the new export (default 1%% of --rows)")
    p.add_argument("--updates", type=int, help="rows updated (default 4%% of --rows)")
    p.add_argument("--removes", type=int, help="rows removed (default 1%% of --rows)")
    a = p.parse_args(argv)
    adds = a.adds if a.adds is not None else a.rows // 100
    updates = a.updates if a.updates is not None else a.rows * 4 // 100
    removes = a.removes if a.removes is not None else a.rows // 100
    try:
        old, new, expected = generate(a.rows, a.seed, adds, updates, removes)
    except ValueError as e:
        p.error(str(e))
    write_csv(a.out_old, old)
    write_csv(a.out_new, new)
    json.dump(expected, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
