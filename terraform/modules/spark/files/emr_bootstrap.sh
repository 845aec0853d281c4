#!/usr/bin/env bash
# EMR bootstrap action, runs on every node before YARN starts (as the hadoop user, with sudo):
# installs the ecgdashboard wheel (and with it pyspark 4.x, the jobs' own Spark) into a venv and
# the CloudWatch agent; on the primary node it also installs one supervisor unit per streaming
# job (ecgdash-job@<job>.service), which waits for YARN and then runs the job for as long as the
# cluster lives, retrying with backoff. No EMR steps: a step runs once and is never resubmitted.
#   $1  s3:// URI of ecgdashboard-<version>-py3-none-any.whl
#   $2  s3:// prefix holding this script, the supervisor, its unit and ecgdash-env.sh
#   $3  s3:// URI of the job config (non-secret ECG_* settings, ECGDASH_* for the supervisor)
set -euo pipefail
wheel_uri="$1"
files_uri="$2"
config_uri="$3"
venv=/opt/ecgdash/venv

# retry CMD...: S3 and IAM may lag a freshly created role by a few seconds
retry() {
    local n
    for n in 1 2 3 4 5 6; do
        "$@" && return 0
        sleep $((n * 5))
    done
    "$@"
}

retry sudo dnf install -y -q python3.11 python3.11-pip java-17-amazon-corretto-headless jq amazon-cloudwatch-agent
sudo mkdir -p /opt/ecgdash /etc/ecgdash /var/log/ecgdash
sudo chown "$(id -u):$(id -g)" /opt/ecgdash /var/log/ecgdash
python3.11 -m venv "$venv"
retry aws s3 cp --only-show-errors "$wheel_uri" /opt/ecgdash/
retry "$venv/bin/pip" install --quiet --disable-pip-version-check /opt/ecgdash/"$(basename "$wheel_uri")"
# YARN containers run as the yarn user: the venv must be readable and executable by everyone.
chmod -R a+rX /opt/ecgdash

retry aws s3 cp --only-show-errors "$config_uri" /tmp/ecgdash.env
sudo install -m 0644 /tmp/ecgdash.env /etc/ecgdash/ecgdash.env
set -a
# shellcheck disable=SC1091
source /etc/ecgdash/ecgdash.env
set +a

# CloudWatch agent: bootstrap output on every node, the job supervisors' logs on the primary.
sudo tee /etc/ecgdash/cloudwatch-agent.json >/dev/null <<JSON
{
  "agent": {"run_as_user": "root"},
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          {"file_path": "/var/log/ecgdash/*.log", "log_group_name": "$ECGDASH_LOG_GROUP", "log_stream_name": "{instance_id}/ecgdash"},
          {"file_path": "/emr/instance-controller/log/bootstrap-actions/*/stderr*", "log_group_name": "$ECGDASH_LOG_GROUP", "log_stream_name": "{instance_id}/bootstrap"}
        ]
      }
    }
  }
}
JSON
sudo /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
    -c file:/etc/ecgdash/cloudwatch-agent.json

if [[ "$(jq -r .isMaster /mnt/var/lib/info/instance.json)" != "true" ]]; then
    exit 0
fi
for f in ecgdash-job-supervisor.sh ecgdash-env.sh; do
    retry aws s3 cp --only-show-errors "$files_uri/$f" "/tmp/$f"
    sudo install -m 0755 "/tmp/$f" "/usr/local/sbin/$f"
done
retry aws s3 cp --only-show-errors "$files_uri/ecgdash-job@.service" /tmp/ecgdash-job@.service
sudo install -m 0644 /tmp/ecgdash-job@.service /etc/systemd/system/ecgdash-job@.service
sudo systemctl daemon-reload
for job in $ECGDASH_JOBS; do
    sudo systemctl enable --now "ecgdash-job@$job.service"
done
