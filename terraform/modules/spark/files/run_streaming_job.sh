#!/usr/bin/env bash
# EMR step (command-runner.jar) on the primary node: run one streaming job for as long as the
# cluster lives.
#   $1  job: raw-writer | hr-job        $2  s3:// URI of the job config (non-secret ECG_* values)
# Steps: load config, read secrets (ecgdash_env.py), write spark-defaults.conf (YARN client mode,
# the wheel's own Spark, encrypted RPC and spill), create topics, `ecgdash db migrate` (idempotent,
# advisory-locked), then `ecgdash spark <job>`, restarted with backoff if it ever exits.
set -euo pipefail
job="$1"
config_uri="$2"
venv=/opt/ecgdash/venv
base="$(dirname "$config_uri")"
work="/opt/ecgdash/$job"
mkdir -p "$work/spark-conf"

aws s3 cp --only-show-errors "$config_uri" "$work/ecgdash.env"
set -a
# shellcheck disable=SC1091
source "$work/ecgdash.env"
set +a
bootstrap_uri="${ECGDASH_BOOTSTRAP_URI:?config lacks ECGDASH_BOOTSTRAP_URI}"
aws s3 cp --only-show-errors "$bootstrap_uri/ecgdash_env.py" "$work/"
aws s3 cp --only-show-errors "$bootstrap_uri/create_topics.py" "$work/"
eval "$("$venv/bin/python" "$work/ecgdash_env.py")"

cat > "$work/spark-conf/spark-defaults.conf" <<CONF
spark.master                      yarn
spark.submit.deployMode           client
spark.app.name                    ecgdash-$job
spark.pyspark.python              $venv/bin/python
spark.pyspark.driver.python       $venv/bin/python
spark.executorEnv.JAVA_HOME       /usr/lib/jvm/jre-17
spark.yarn.appMasterEnv.JAVA_HOME /usr/lib/jvm/jre-17
spark.authenticate                true
spark.network.crypto.enabled      true
spark.io.encryption.enabled       true
spark.executor.instances          ${ECGDASH_EXECUTORS:-2}
spark.streaming.stopGracefullyOnShutdown true
CONF
export SPARK_CONF_DIR="$work/spark-conf" HADOOP_CONF_DIR=/etc/hadoop/conf YARN_CONF_DIR=/etc/hadoop/conf
export JAVA_HOME=/usr/lib/jvm/jre-17 PYSPARK_PYTHON="$venv/bin/python"
export ECG_SPARK_MASTER=yarn ECG_CHECKPOINT_DIR="hdfs:/ecgdash/checkpoints/$job"

"$venv/bin/python" "$work/create_topics.py"
"$venv/bin/ecgdash" db migrate

delay=10
while true; do
    started=$(date +%s)
    "$venv/bin/ecgdash" spark "$job" && status=0 || status=$?
    echo "ecgdash spark $job exited with $status; restarting in ${delay}s (config $base)" >&2
    # a job that ran for an hour was healthy: start the backoff again from 10 s
    if (($(date +%s) - started > 3600)); then delay=10; fi
    sleep "$delay"
    delay=$((delay < 300 ? delay * 2 : 300))
done
