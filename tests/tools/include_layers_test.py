#!/usr/bin/python3
"""The house stays layered (issue 37): every #include "DIR/..." in a source runs down, never up.

schema/ is five folders in this order, each including only itself and those before it:
text, mastodon, tape, formats, ops. record/ and replay/ sit on schema/ and never include each
other nor schema/ops (a library of its own for tools/); tools/ is on top and nothing below
includes it. Prints each include that runs up, and
exits 1 if there is one.

Usage: include_layers_test.py [REPO]
"""
import os
import re
import sys

SCHEMA = ["schema/text", "schema/mastodon", "schema/tape", "schema/formats", "schema/ops"]
# What a folder may include, besides itself.
ALLOWED = {folder: set(SCHEMA[:i]) for i, folder in enumerate(SCHEMA)}
# schema/ops is its own library, linked by tools/ only.
ALLOWED["record"] = set(SCHEMA) - {"schema/ops"}
ALLOWED["replay"] = set(SCHEMA) - {"schema/ops"} | {"replay/include"}
ALLOWED["tools"] = set(SCHEMA) | {"record", "replay", "replay/include", "include"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path, folders):
    """The longest folder of `folders` that `path` lies in."""
    best = None
    for f in folders:
        if path == f or path.startswith(f + "/"):
            best = f if best is None or len(f) > len(best) else best
    return best


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    folders = list(ALLOWED) + ["include", "replay/include"]
    wrong = []
    checked = 0
    for top in ("schema", "record", "replay", "tools"):
        for dirpath, _, names in os.walk(os.path.join(repo, top)):
            for name in names:
                if not name.endswith((".hpp", ".cpp", ".in")):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), repo)
                mine = folder_of(path, ALLOWED)
                text = open(os.path.join(repo, path), encoding="utf-8").read()
                for target in INCLUDE.findall(text):
                    theirs = folder_of(target, folders)
                    if theirs is None:
                        continue  # generated, or a library's
                    checked += 1
                    ok = theirs == mine or theirs in ALLOWED[mine] or (
                        mine.startswith("replay") and theirs.startswith("replay"))
                    if not ok:
                        wrong.append(f"{path}: includes {target}, which runs up from {mine} "
                                     f"to {theirs}")
    for line in wrong:
        print(line)
    print(f"{checked} includes checked, {len(wrong)} running up")
    return 1 if wrong or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
