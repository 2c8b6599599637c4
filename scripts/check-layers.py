#!/usr/bin/env python3
"""Checks that the folders of Sources/DropfeedCore depend on each other in one direction only.

A folder depends on another when one of its files names a type, function or constant declared
(not privately) in exactly one file of the other. Names declared in several folders are not counted.
Prints the folder graph and every pair of folders that use each other, and exits 1 if there is one.
It reads the code as text, so it can be fooled; it errs on the side of reporting.
"""

import collections
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "DropfeedCore")
DECLARATION = re.compile(
    r"^(?:(?:public|internal|final|@\w+|nonisolated\(unsafe\))\s+)*"
    r"(?:struct|class|enum|protocol|typealias|func|let|var)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)


def main():
    owners = collections.defaultdict(set)
    texts = {}
    for folder in sorted(os.listdir(ROOT)):
        path = os.path.join(ROOT, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith(".swift"):
                continue
            text = open(os.path.join(path, name), encoding="utf-8").read()
            texts[(folder, name)] = text
            for m in DECLARATION.finditer(text):
                owners[m.group(1)].add(folder)
    edges = collections.defaultdict(set)
    why = collections.defaultdict(list)
    for (folder, name), text in texts.items():
        code = re.sub(r"//.*", "", text)
        code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)
        for token in set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", code)):
            found = owners.get(token, set())
            if len(found) == 1:
                (other,) = found
                if other != folder:
                    edges[folder].add(other)
                    why[(folder, other)].append(f"{name}: {token}")
    for folder in sorted(edges):
        print(f"{folder} -> {', '.join(sorted(edges[folder]))}")
    cycles = [(a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, set())]
    for a, b in cycles:
        print(f"CYCLE {a} <-> {b}: {', '.join(why[(a, b)][:4])} / {', '.join(why[(b, a)][:4])}")
    loops = [group for group in strongly_connected(edges) if len(group) > 2]
    for group in loops:
        print(f"CYCLE through {' -> '.join(group)}: " + "; ".join(
            f"{a} -> {b} ({', '.join(why[(a, b)][:2])})"
            for a in group for b in sorted(edges[a]) if b in group))
    return 1 if cycles or loops else 0


def strongly_connected(edges):
    """The folder groups in which every folder reaches every other (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(set(edges) | {b for targets in edges.values() for b in targets}):
        if node not in index:
            visit(node)
    return groups

if __name__ == "__main__":
    sys.exit(main())
