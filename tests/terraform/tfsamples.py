"""Sample values for rendering the cloud-init templates (tests/terraform/test_cloud_init.py and
test_issue15_defects.py), and the programs packages provide on the rendered hosts."""

from __future__ import annotations

# One sample per template variable name used anywhere under terraform/: a template variable
# without a sample fails the tests (add one here). Terraform itself rejects a template that
# reads a variable the module does not pass. A few names (full_retention, owner-less
# admin_secret_arn of the database template) are those of the templates before issue 15, kept so
# that ECG_TF_ROOT=<older terraform/> can render the old tree and show its defects.
SAMPLES: dict[str, object] = {
    "region": "eu-central-1",
    "name": "ecgdashboard-dev",
    "environment": "dev",
    "pg_major": 17,
    "database": "ecg",
    "vpc_cidr": "10.41.0.0/16",
    "data_volume_id": "vol-0123456789abcdef0",
    "admin_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/grafana/admin-AbCdEf",
    "owner_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/db/owner-AbCdEf",
    "owner_role": "ecg_owner",
    "backups_bucket": "ecgdashboard-dev-backups-111122223333",
    "backup_repo_path": "/pgbackrest/ecgdashboard-dev",
    "kms_key_arn": "arn:aws:kms:eu-central-1:111122223333:key/00000000-0000-0000-0000-000000000000",
    "full_retention": 4,
    "full_retention_days": 35,
    "grafana_version": "11.6.0",
    "provisioning_uri": "s3://ecgdashboard-dev-artifacts-111122223333/grafana/provisioning",
    "reader_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/db/reader-AbCdEf",
    "db_host": "ip-10-41-1-10.eu-central-1.compute.internal",
    "db_port": 5432,
    "db_name": "ecg",
    "timescaledb": True,
    "log_group": "/ecgdashboard/ecgdashboard-dev/grafana",
    "log_group_name": "/ecgdashboard/ecgdashboard-dev/ops",
    "alert_emails": ["ward-3@hospital.example", "oncall@hospital.example"],
    "alert_webhook_url": "https://nursecall.hospital.example/hooks/ecg",
    "smtp_host": "email-smtp.eu-central-1.amazonaws.com:587",
    "smtp_user": "AKIAEXAMPLESMTPUSER",
    "smtp_from_address": "ecg-alerts@hospital.example",
    "smtp_from_name": "ECGdashboard",
    "smtp_password_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:hospital/smtp-AbCdEf",
    "min_refresh_interval": "1s",
    "artifacts_bucket": "ecgdashboard-dev-artifacts-111122223333",
    "wheel_s3_key": "releases/ecgdashboard-0.1.0-py3-none-any.whl",
    "config_s3_uri": "s3://ecgdashboard-dev-artifacts-111122223333/config/ops/ecgdash.env",
    "replay_source": "s3://ecgdashboard-dev-data-111122223333/wfdb/mitdb",
    "replay_args": "--loop --patients 8",
    "checkpoints_bucket": "ecgdashboard-dev-checkpoints-111122223333",
    "jobs": {"raw-writer": "raw_writer", "alarm-job": "alarm_job"},
    "metric_namespace": "ECGdashboard",
    "kafka_replication_factor": 2,
    "environment_file": "\n".join(
        [
            "AWS_REGION='eu-central-1'",
            "ECG_DB_HOST='ip-10-41-1-10.eu-central-1.compute.internal'",
            "ECG_DB_PORT='5432'",
            "ECG_DB_NAME='ecg'",
            "ECG_KAFKA_BOOTSTRAP='b-1.ecg.kafka.eu-central-1.amazonaws.com:9096'",
            "ECGDASH_ENVIRONMENT='dev'",
            "ECGDASH_METRIC_NAMESPACE='ECGdashboard'",
            "ECGDASH_WHEEL_URI='s3://ecgdashboard-dev-artifacts-111122223333/releases/ecgdashboard-0.1.0-py3-none-any.whl'",
            "ECGDASH_REPLAY_SOURCE='s3://ecgdashboard-dev-data-111122223333/wfdb/mitdb'",
            "ECGDASH_REPLAY_ARGS='--loop --speed 1 --quiet'",
            "ECGDASH_PROBES='raw-writer=s3://ecgdashboard-dev-checkpoints-111122223333/ecgdashboard-dev-streaming/raw-writer/raw_writer/commits/"
            " alarm-job=s3://ecgdashboard-dev-checkpoints-111122223333/ecgdashboard-dev-streaming/alarm-job/alarm_job/commits/'",
            "SECRET_ARN_DB_OWNER='arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/db/owner-AbCdEf'",
        ]
    ),
    "acl_spec": '{"acls":[{"host":"*","operation":"Write","pattern_type":"Literal","permission":"Allow","principal":"User:gw-ward3","resource_name":"ecg.waveform","resource_type":"Topic"}]}',
}

# Programs that packages installed by the same cloud-init (or the AMI) provide.
PROVIDED = {
    "/usr/sbin/grafana-server",  # grafana .deb
    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl",  # CloudWatch agent
    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent",
    "/opt/ecgdash/venv/bin/ecgdash",  # the wheel, installed by the install unit
    "/usr/bin/aws",  # AWS CLI v2 on Amazon Linux 2023 and EMR
    "/snap/bin/aws",  # aws-cli snap on Ubuntu
    "/usr/bin/pgbackrest",  # pgbackrest .deb
}
