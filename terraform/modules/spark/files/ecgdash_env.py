"""Print `export` lines with the ECG_* settings of one streaming job, secrets read at run time.

Run with the venv's python (boto3 is a dependency of the wheel); the instance role grants
read access to exactly these secrets. Nothing secret is written to disk.
"""

import json
import os
import shlex
from urllib.parse import quote

import boto3


def secret(arn: str) -> dict:
    client = boto3.client("secretsmanager", region_name=os.environ["AWS_REGION"])
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])


def dsn(creds: dict) -> str:
    host, port, db = os.environ["ECG_DB_HOST"], os.environ["ECG_DB_PORT"], os.environ["ECG_DB_NAME"]
    user, password = quote(creds["username"], safe=""), quote(creds["password"], safe="")
    return f"postgresql://{user}:{password}@{host}:{port}/{db}?sslmode=require"


def main() -> None:
    admin = secret(os.environ["SECRET_ARN_DB_ADMIN"])
    writer = secret(os.environ["SECRET_ARN_DB_WRITER"])
    reader = secret(os.environ["SECRET_ARN_DB_READER"])
    kafka = secret(os.environ["SECRET_ARN_KAFKA"])
    values = {
        "ECG_DB_ADMIN_DSN": dsn(admin),
        "ECG_DB_WRITER_DSN": dsn(writer),
        "ECG_DB_READER_DSN": dsn(reader),
        "ECG_DB_WRITER_PASSWORD": writer["password"],
        "ECG_DB_READER_PASSWORD": reader["password"],
        "ECG_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "ECG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "ECG_KAFKA_SASL_USERNAME": kafka["username"],
        "ECG_KAFKA_SASL_PASSWORD": kafka["password"],
    }
    for key, value in values.items():
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
