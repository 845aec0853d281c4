"""Parse every .tf file under a folder with python-hcl2 and print one JSON document.

Runs inside the hcl2 venv (`<tools>/hcl2-venv/bin/python hcl2_dump.py terraform/`), not in the
project venv: checkov's bc-python-hcl2 installs under the same import name `hcl2`.
Output: {"<path relative to the folder>": <parsed file>}, labels and literals without quotes.
"""

import json
import sys
from pathlib import Path

import hcl2


def clean(node):
    """Drop python-hcl2's __is_block__/__comments__ markers."""
    if isinstance(node, dict):
        return {
            k: clean(v) for k, v in node.items() if not (k.startswith("__") and k.endswith("__"))
        }
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


def main() -> None:
    root = Path(sys.argv[1])
    options = hcl2.SerializationOptions(with_comments=False, strip_string_quotes=True)
    out = {}
    for path in sorted(root.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        with path.open() as f:
            out[path.relative_to(root).as_posix()] = clean(
                hcl2.load(f, serialization_options=options)
            )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
