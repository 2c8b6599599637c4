#!/usr/bin/env python3
"""Makes a large old/new export pair for `make bench-scale` from the generator's 1,000,000-row pair
(the generator holds every row in memory, which 10,000,000 rows would not fit): COPIES copies of
each file, copy k's `employee_id` and `manager_id` numbers prefixed with k and its email local part
prefixed with `c<k>.`, so keys, managers and emails stay unique and lookups still find their rows.
The change mix (1% added, 4% updated, 1% removed) is the generator's, in every copy.

    scale_exports.py OLD NEW OUT_OLD OUT_NEW [--copies 10]
"""

import argparse
import csv
import os
import sys


def scale(src, dst, copies):
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for k in range(copies):
            with open(src, encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                if k == 0:
                    writer.writerow(header)
                eid, mid, mail = header.index("employee_id"), header.index("manager_id"), header.index("email")
                for row in reader:
                    row[eid] = f"E{k}{row[eid][1:]}"
                    if row[mid]:
                        row[mid] = f"E{k}{row[mid][1:]}"
                    if row[mail]:
                        row[mail] = f"c{k}.{row[mail]}"
                    writer.writerow(row)
    os.replace(tmp, dst)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("out_old")
    p.add_argument("out_new")
    p.add_argument("--copies", type=int, default=10)
    a = p.parse_args(argv)
    scale(a.old, a.out_old, a.copies)
    scale(a.new, a.out_new, a.copies)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
