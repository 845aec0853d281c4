#!/usr/bin/env bash
# Print `export NAME=value` lines with the credentials of a streaming job, read from Secrets
# Manager with the instance role at every (re)start of the job; nothing secret touches disk.
# Needs SECRET_ARN_DB_WRITER, SECRET_ARN_KAFKA, ECG_DB_HOST, ECG_DB_PORT, ECG_DB_NAME, AWS_REGION.
set -euo pipefail

secret() {
    aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$1" \
        --query SecretString --output text
}

writer="$(secret "$SECRET_ARN_DB_WRITER")"
kafka="$(secret "$SECRET_ARN_KAFKA")"
dsn="$(jq -r --arg h "$ECG_DB_HOST" --arg p "$ECG_DB_PORT" --arg d "$ECG_DB_NAME" \
    '"postgresql://\(.username | @uri):\(.password | @uri)@\($h):\($p)/\($d)?sslmode=require"' <<<"$writer")"
printf 'export ECG_DB_WRITER_DSN=%q\n' "$dsn"
printf 'export ECG_KAFKA_SASL_USERNAME=%q\n' "$(jq -r .username <<<"$kafka")"
printf 'export ECG_KAFKA_SASL_PASSWORD=%q\n' "$(jq -r .password <<<"$kafka")"
