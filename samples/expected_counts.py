#!/usr/bin/env python3
"""An independent oracle for Dropfeed's per-target counts (standard library only).

Re-implements the mapping semantics (the README's mapping reference) in plain Python — where, from, template,
value, map/default, lookup, date, transform, required, key — and the diff, then prints what
each target of a config should report on a first run (no snapshot) with the old export, and
on the next run with the new export:

    python3 samples/expected_counts.py                         # samples/dropfeed.all.json, day 1 -> day 2
    python3 samples/expected_counts.py --json                  # the same, as JSON (for tests)
    python3 samples/expected_counts.py --config samples/dropfeed.json --explain awareness
    python3 samples/expected_counts.py --old A.csv --new B.csv

Defaults: --old is the config's source.path, --new is hr_export_next.csv beside it.

Figures (per target, per run):
  considered  source rows that pass `where`
  rejected    considered rows with an empty `required` value or a date that does not parse
  rows        mapped rows (considered - rejected): what a full file holds
  adds / updates / deletes / unchanged   the diff of `rows` against the previous run's rows by key
              (first run: every row is an add)
  deltaRows   rows of the delta file: adds + updates (+ deletes unless `deletes: "omit"`)
  lookupWarnings  non-empty lookup values naming no source row (a warning, not a rejection)
  gates       each configured safety limit with its actual value; percentages are taken of the
              previous run's row count
The snapshot compared against is the previous run's mapped rows as computed here (formulaGuard
and the output dialect do not change which rows differ). `ascii` and `truncate` are close
approximations (NFKD without marks; grapheme clusters by combining marks, ZWJ and variation
selectors); the sample data never changes a value only in a way these could disagree on.
"""

import argparse
import csv
import datetime
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_samples import load_json5  # noqa: E402  (the same tiny JSON5 reader)

CONFIG_KEYS = {"version", "source", "stateDir", "targets"}
SOURCE_KEYS = {"path", "key", "delimiter", "encoding", "minRows", "maxShrinkPercent"}
TARGET_KEYS = {"name", "mapping", "deliver"}
SFTP_KEYS = {"host", "port", "user", "remoteDir", "identityFile", "passphraseEnv", "passwordEnv", "knownHosts",
             "upload", "overwrite", "timeoutSeconds", "retries"}
MAPPING_KEYS = {"version", "key", "where", "columns", "required", "output", "safety"}
WHERE_KEYS = {"column", "in", "notIn", "matches", "notEmpty", "equals"}
COLUMN_KEYS = {"name", "from", "template", "value", "map", "default", "date", "lookup", "transform"}
OUTPUT_KEYS = {"file", "mode", "header", "delimiter", "quote", "lineEnding", "bom", "encoding", "action",
               "deletes", "formulaGuard", "emptyDelta", "checksum", "trigger", "preamble", "encrypt", "format",
               "oneroster"}
SAFETY_KEYS = {"maxDeletes", "maxDeletePercent", "maxUpdatePercent", "onExceed"}
TEMPLATE_RE = re.compile(r"\{([^{}]+)\}")


class Reject(Exception):
    pass


def check_keys(obj, allowed, where, problems):
    for k in obj:
        if k not in allowed:
            problems.append("%s: unknown key `%s`" % (where, k))


def validate(config, config_path, mappings, header):
    """The unknown-key and unknown-column checks `dropfeed validate` makes (a subset)."""
    problems = []
    check_keys(config, CONFIG_KEYS, config_path, problems)
    check_keys(config["source"], SOURCE_KEYS, config_path + ": source", problems)
    for i, t in enumerate(config["targets"]):
        check_keys(t, TARGET_KEYS, "%s: targets[%d]" % (config_path, i), problems)
        if "sftp" in t["deliver"]:
            check_keys(t["deliver"]["sftp"], SFTP_KEYS, "%s: targets[%d].deliver.sftp" % (config_path, i), problems)
    for name, (path, m) in mappings.items():
        check_keys(m, MAPPING_KEYS, path, problems)
        check_keys(m.get("output", {}), OUTPUT_KEYS, path + ": output", problems)
        check_keys(m.get("safety", {}), SAFETY_KEYS, path + ": safety", problems)
        names = [c["name"] for c in m["columns"]]
        for i, w in enumerate(m.get("where", [])):
            check_keys(w, WHERE_KEYS, "%s: where[%d]" % (path, i), problems)
            if w["column"] not in header:
                problems.append("%s: where[%d].column: no source column `%s`" % (path, i, w["column"]))
        for i, c in enumerate(m["columns"]):
            check_keys(c, COLUMN_KEYS, "%s: columns[%d]" % (path, i), problems)
            used = []
            if "from" in c:
                used += c["from"] if isinstance(c["from"], list) else [c["from"]]
            if "template" in c:
                used += TEMPLATE_RE.findall(c["template"])
            if "lookup" in c:
                used.append(c["lookup"])
            for col in used:
                if col not in header:
                    problems.append("%s: columns[%d]: no source column `%s`" % (path, i, col))
        keys = m["key"] if isinstance(m["key"], list) else [m["key"]]
        for k in keys + m.get("required", []):
            if k not in names:
                problems.append("%s: key/required names no output column `%s`" % (path, k))
        deletes = m.get("output", {}).get("deletes", "row")
        if isinstance(deletes, dict):
            for k in deletes["set"]:
                if k not in names:
                    problems.append("%s: output.deletes.set names no output column `%s`" % (path, k))
    return problems


# --- transforms -------------------------------------------------------------------------------

ASCII_SPECIAL = {"ø": "o", "Ø": "O", "ß": "ss", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D",
                 "þ": "th", "Þ": "Th", "ð": "d", "ı": "i", "œ": "oe", "Œ": "OE"}


def to_ascii(s):
    s = "".join(ASCII_SPECIAL.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if not unicodedata.combining(ch) and ord(ch) < 128)


def graphemes(s):
    out = []
    for ch in s:
        o = ord(ch)
        joins = out and (
            unicodedata.category(ch) in ("Mn", "Me", "Mc") or ch == "\u200d" or out[-1].endswith("\u200d")
            or 0xFE00 <= o <= 0xFE0F or 0x1F3FB <= o <= 0x1F3FF or (out[-1] == "\r" and ch == "\n"))
        if joins:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def apply_transform(v, t):
    if t == "trim":
        return v.strip()
    if t == "lower":
        return v.lower()
    if t == "upper":
        return v.upper()
    if t == "ascii":
        return to_ascii(v)
    if isinstance(t, dict) and "truncate" in t:
        return "".join(graphemes(v)[:t["truncate"]])
    if isinstance(t, dict) and "replace" in t:
        return re.sub(t["replace"], t["with"].replace("\\", "\\\\"), v)
    raise ValueError("unknown transform %r" % (t,))


DATE_TOKENS = {"yyyy": r"(?P<y>\d{4})", "MM": r"(?P<m>\d{2})", "dd": r"(?P<d>\d{2})"}


def convert_date(value, spec):
    if value == "":
        return ""
    pattern, i = "", 0
    src = spec["from"]
    while i < len(src):
        for tok, rx in DATE_TOKENS.items():
            if src.startswith(tok, i):
                pattern += rx
                i += len(tok)
                break
        else:
            pattern += re.escape(src[i])
            i += 1
    m = re.fullmatch(pattern, value)
    if not m:
        raise Reject("date `%s` does not match %s" % (value, src))
    try:
        d = datetime.date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        raise Reject("date `%s` is not a calendar date" % value)
    return spec["to"].replace("yyyy", "%04d" % d.year).replace("MM", "%02d" % d.month).replace("dd", "%02d" % d.day)


# --- mapping ----------------------------------------------------------------------------------

def passes(w, rec):
    v = rec[w["column"]]
    if "in" in w and v not in w["in"]:
        return False
    if "notIn" in w and v in w["notIn"]:
        return False
    if "equals" in w and v != w["equals"]:
        return False
    if "matches" in w and not re.search(w["matches"], v):
        return False
    if "notEmpty" in w and (v != "") != bool(w["notEmpty"]):
        return False
    return True


def evaluate(col, rec, index, stats):
    if "value" in col:
        v = col["value"]
    elif "template" in col:
        v = TEMPLATE_RE.sub(lambda m: rec[m.group(1)], col["template"])
    else:
        f = col["from"]
        v = next((rec[c] for c in f if rec[c] != ""), "") if isinstance(f, list) else rec[f]
    if "map" in col:
        v = col["map"].get(v, col.get("default", v))
    if "lookup" in col:
        if v != "" and v not in index:
            stats["lookupWarnings"] += 1
        v = index[v][col["lookup"]] if v in index else ""
    if "date" in col:
        v = convert_date(v, col["date"])
    for t in col.get("transform", []):
        v = apply_transform(v, t)
    return v


def map_rows(mapping, records, index, source_key):
    """-> (rows by output key, rejected [(source key, reason)], stats)"""
    keys = mapping["key"] if isinstance(mapping["key"], list) else [mapping["key"]]
    rows, rejected = {}, []
    stats = {"considered": 0, "lookupWarnings": 0}
    for rec in records:
        if not all(passes(w, rec) for w in mapping.get("where", [])):
            continue
        stats["considered"] += 1
        try:
            out = {}
            for col in mapping["columns"]:
                out[col["name"]] = evaluate(col, rec, index, stats)
            empty = [r for r in mapping.get("required", []) if out[r] == ""]
            if empty:
                raise Reject("empty required %s" % ", ".join(empty))
        except Reject as e:
            rejected.append((rec[source_key], str(e)))
            continue
        k = tuple(out[c] for c in keys)
        if k in rows:
            raise SystemExit("duplicate output key %r (source %s)" % (k, rec[source_key]))
        rows[k] = out
    return rows, rejected, stats


def diff(old, new):
    adds = sorted(k for k in new if k not in old)
    deletes = sorted(k for k in old if k not in new)
    updates = sorted(k for k in new if k in old and new[k] != old[k])
    unchanged = sorted(k for k in new if k in old and new[k] == old[k])
    return adds, updates, deletes, unchanged


def read_source(path, source):
    enc = source.get("encoding", "utf-8").lower()
    enc = {"utf-8": "utf-8-sig", "windows-1252": "cp1252", "iso-8859-1": "latin-1", "utf-16": "utf-16"}.get(enc, enc)
    with open(path, encoding=enc, newline="") as f:
        reader = csv.DictReader(f, delimiter=source.get("delimiter", ","), strict=True)
        return reader.fieldnames, list(reader)


def run_figures(mapping, prev_rows, rows, rejected, stats):
    out = mapping.get("output", {})
    safety = mapping.get("safety", {})
    if prev_rows is None:
        adds, updates, deletes, unchanged = sorted(rows), [], [], []
    else:
        adds, updates, deletes, unchanged = diff(prev_rows, rows)
    deletes_mode = out.get("deletes", "row")
    delta_rows = len(adds) + len(updates) + (0 if deletes_mode == "omit" else len(deletes))
    mode = out.get("mode", "delta")
    files = []
    if mode in ("full", "both"):
        files.append({"kind": "full", "rows": len(rows)})
    if mode in ("delta", "both") and (delta_rows > 0 or out.get("emptyDelta", "skip") == "send"):
        files.append({"kind": "delta", "rows": delta_rows})
    gates = []
    base = len(prev_rows) if prev_rows else 0
    checks = [("maxDeletes", len(deletes)),
              ("maxDeletePercent", round(100.0 * len(deletes) / base, 3) if base else 0.0),
              ("maxUpdatePercent", round(100.0 * len(updates) / base, 3) if base else 0.0)]
    for name, actual in checks:
        if name in safety:
            gates.append({"name": name, "limit": safety[name], "actual": actual, "tripped": actual > safety[name]})
    fig = {
        "considered": stats["considered"], "rejected": len(rejected), "rows": len(rows),
        "adds": len(adds), "updates": len(updates), "deletes": len(deletes), "unchanged": len(unchanged),
        "deltaRows": delta_rows, "files": files, "lookupWarnings": stats["lookupWarnings"], "gates": gates,
        "held": any(g["tripped"] for g in gates),
    }
    detail = {"adds": adds, "updates": updates, "deletes": deletes, "rejected": rejected}
    return fig, detail


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(HERE, "dropfeed.all.json"))
    ap.add_argument("--old")
    ap.add_argument("--new")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--explain", metavar="TARGET", help="list the keys behind each figure of TARGET")
    args = ap.parse_args(argv)

    config_dir = os.path.dirname(os.path.abspath(args.config))
    config = load_json5(args.config)
    source = config["source"]
    old_path = args.old or os.path.join(config_dir, source["path"])
    new_path = args.new or os.path.join(os.path.dirname(old_path), "hr_export_next.csv")
    source_key = source["key"]
    if isinstance(source_key, list):
        raise SystemExit("composite source keys are not supported by this oracle")

    header_old, old = read_source(old_path, source)
    header_new, new = read_source(new_path, source)
    mappings = {}
    for t in config["targets"]:
        path = os.path.normpath(os.path.join(config_dir, t["mapping"]))
        mappings[t["name"]] = (os.path.relpath(path, os.path.dirname(HERE)), load_json5(path))
    problems = validate(config, os.path.relpath(args.config), mappings, set(header_old) & set(header_new))
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 78

    src_old = {r[source_key]: r for r in old}
    src_new = {r[source_key]: r for r in new}
    s_adds, s_updates, s_deletes, s_unchanged = diff(src_old, src_new)
    report = {
        "old": os.path.relpath(old_path), "new": os.path.relpath(new_path),
        "source": {"oldRows": len(old), "newRows": len(new), "adds": len(s_adds), "updates": len(s_updates),
                   "removes": len(s_deletes), "unchanged": len(s_unchanged)},
        "targets": [],
    }
    details = {}
    for t in config["targets"]:
        _, m = mappings[t["name"]]
        rows1, rej1, st1 = map_rows(m, old, src_old, source_key)
        rows2, rej2, st2 = map_rows(m, new, src_new, source_key)
        day1, _ = run_figures(m, None, rows1, rej1, st1)
        day2, detail = run_figures(m, rows1, rows2, rej2, st2)
        report["targets"].append({"name": t["name"], "mapping": mappings[t["name"]][0], "first": day1, "next": day2})
        details[t["name"]] = detail

    if args.explain:
        d = details[args.explain]
        for what in ("adds", "updates", "deletes"):
            print("%s (%d): %s" % (what, len(d[what]), ", ".join("/".join(k) for k in d[what])))
        for key, reason in d["rejected"]:
            print("rejected %s: %s" % (key, reason))
        return 0
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    s = report["source"]
    print("source  %s -> %s: %d -> %d rows; adds %d, updates %d, removes %d, unchanged %d" % (
        report["old"], report["new"], s["oldRows"], s["newRows"], s["adds"], s["updates"], s["removes"], s["unchanged"]))
    print()
    print("%-10s %-5s %6s %6s %5s %5s %5s %5s %6s %5s  %s" % (
        "target", "run", "consid", "rows", "add", "upd", "del", "same", "reject", "delta", "gates (actual/limit)"))
    for t in report["targets"]:
        for run in ("first", "next"):
            f = t[run]
            gates = ", ".join("%s %s/%s%s" % (g["name"], g["actual"], g["limit"], " TRIPPED" if g["tripped"] else "")
                              for g in f["gates"]) if run == "next" else ""
            print("%-10s %-5s %6d %6d %5d %5d %5d %5d %6d %5d  %s" % (
                t["name"] if run == "first" else "", run, f["considered"], f["rows"], f["adds"], f["updates"],
                f["deletes"], f["unchanged"], f["rejected"], f["deltaRows"], gates))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
