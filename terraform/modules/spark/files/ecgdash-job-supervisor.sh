#!/usr/bin/env bash
# Supervisor of one streaming job on the EMR primary node (ecgdash-job@<job>.service).
#   $1  job: raw-writer | alarm-job | hr-job
# Loop: wait for YARN; read fresh secrets (ecgdash-env.sh); make sure the topics exist
# (`ecgdash kafka create-topics`, idempotent); write spark-defaults.conf (YARN client mode, the
# wheel's own Spark, encrypted RPC and spill, S3A for the checkpoints); run `ecgdash spark <job>`.
# Whatever fails or exits is retried with exponential backoff (10 s doubling to 5 min, back to
# 10 s after an hour of healthy running) and counted in the JobRestarts metric, which is alarmed.
set -uo pipefail
job="$1"
venv=/opt/ecgdash/venv
work="/opt/ecgdash/$job"

log() { echo "$(date -u +%FT%TZ) ecgdash-job@$job: $*"; }

metric() {
    aws cloudwatch put-metric-data --region "$AWS_REGION" --namespace "$ECGDASH_METRIC_NAMESPACE" \
        --metric-name "$1" --dimensions "Environment=$ECGDASH_ENVIRONMENT,Job=$job" --value "$2" ||
        log "could not publish metric $1"
}

yarn_ready() {
    command -v yarn >/dev/null && yarn node -list 2>/dev/null | grep -q RUNNING
}

# hadoop-aws must match the Hadoop client jars inside the wheel's pyspark
hadoop_version() {
    local jar
    jar="$(ls "$venv"/lib/python3*/site-packages/pyspark/jars/hadoop-client-api-*.jar | head -n 1)"
    jar="${jar##*-}"
    echo "${jar%.jar}"
}

write_spark_conf() {
    mkdir -p "$work/spark-conf"
    cat >"$work/spark-conf/spark-defaults.conf" <<CONF
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
spark.jars.packages               org.apache.hadoop:hadoop-aws:$(hadoop_version)
spark.jars.ivy                    /opt/ecgdash/ivy
spark.hadoop.fs.s3a.endpoint.region $AWS_REGION
CONF
}

# One attempt, in a subshell: the secrets live only in its environment.
run_job() {
    set -euo pipefail
    local creds
    creds="$(/usr/local/sbin/ecgdash-env.sh)"
    eval "$creds"
    write_spark_conf
    export SPARK_CONF_DIR="$work/spark-conf" HADOOP_CONF_DIR=/etc/hadoop/conf YARN_CONF_DIR=/etc/hadoop/conf
    export JAVA_HOME=/usr/lib/jvm/jre-17 PYSPARK_PYTHON="$venv/bin/python"
    export ECG_CHECKPOINT_DIR="$ECGDASH_CHECKPOINT_URI/$job"
    "$venv/bin/ecgdash" kafka create-topics --replication-factor "$ECGDASH_REPLICATION_FACTOR"
    exec "$venv/bin/ecgdash" spark "$job"
}

set -a
# shellcheck disable=SC1091
source /etc/ecgdash/ecgdash.env
set +a

delay=10
while true; do
    until yarn_ready; do
        log "waiting for YARN"
        sleep 15
    done
    started="$(date +%s)"
    (run_job)
    status=$?
    log "exited with status $status; restarting in ${delay}s"
    metric JobRestarts 1
    if (($(date +%s) - started > 3600)); then delay=10; fi
    sleep "$delay"
    delay=$((delay < 300 ? delay * 2 : 300))
done
