"""Parse every .tf (and .tfvars / .tfvars.example) file under a folder with python-hcl2 and print
one JSON document.

Runs inside the hcl2 venv (`<tools>/hcl2-venv/bin/python hcl2_dump.py terraform/ [--blocks]`), not
in the project venv: checkov's bc-python-hcl2 installs under the same import name `hcl2`.
Output: {"<path relative to the folder>": <parsed file>}, labels and literals without quotes.
With --blocks every nested block keeps python-hcl2's `__is_block__: true` marker, which tells a
block (`ebs_config { ... }`) from an attribute holding an object (`tags = { ... }`).
"""

import json
import sys
from pathlib import Path

import hcl2


def clean(node, keep: frozenset = frozenset()):
    """Drop python-hcl2's __is_block__/__comments__ markers (except those in `keep`)."""
    if isinstance(node, dict):
        return {
            k: clean(v, keep)
            for k, v in node.items()
            if k in keep or not (k.startswith("__") and k.endswith("__"))
        }
    if isinstance(node, list):
        return [clean(v, keep) for v in node]
    return node


SUFFIXES = (".tf", ".tfvars", ".tfvars.example")


def main() -> None:
    root = Path(sys.argv[1])
    keep = frozenset({"__is_block__"}) if "--blocks" in sys.argv[2:] else frozenset()
    options = hcl2.SerializationOptions(with_comments=False, strip_string_quotes=True)
    out = {}
    for path in sorted(root.rglob("*")):
        if ".terraform" in path.parts or not path.name.endswith(SUFFIXES) or not path.is_file():
            continue
        with path.open() as f:
            out[path.relative_to(root).as_posix()] = clean(hcl2.load(f, serialization_options=options), keep)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
