#!/usr/bin/env bash
# EMR bootstrap action, runs on every node before YARN starts:
# installs the ecgdashboard wheel (and with it pyspark 4.x, the jobs' own Spark) into a venv.
#   $1  s3:// URI of ecgdashboard-<version>-py3-none-any.whl
set -euo pipefail
wheel_uri="$1"
venv=/opt/ecgdash/venv

sudo dnf install -y -q python3.11 python3.11-pip java-17-amazon-corretto-headless
sudo mkdir -p /opt/ecgdash && sudo chown "$(id -u):$(id -g)" /opt/ecgdash
python3.11 -m venv "$venv"
aws s3 cp --only-show-errors "$wheel_uri" /opt/ecgdash/
"$venv/bin/pip" install --quiet --disable-pip-version-check /opt/ecgdash/"$(basename "$wheel_uri")"
# YARN containers run as the yarn user: the venv must be readable and executable by everyone.
chmod -R a+rX /opt/ecgdash
