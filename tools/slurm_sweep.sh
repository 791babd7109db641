#!/usr/bin/env bash
# A sweep on a Slurm cluster: an array job of WORKERS tasks, each one `tools/sweep.py
# --local` worker pulling trials from the same Optuna study until it has its trials.
#
#   tools/slurm_sweep.sh PARTITION JOB_NAME SPEC WORKERS [sweep.py arguments...]
#   tools/slurm_sweep.sh gpu acr-sweep configs/sweeps/acr_alpha_lr_startlayer_voc.yaml 8 \
#       --storage postgresql://user:password@db-host/sweeps --count 32
#
# Workers on several nodes need a database server (--storage postgresql://... or
# mysql://...); the default SQLite file under the sweep's work dir suits workers of one
# node (SQLite's locking is not reliable on network file systems). A preempted or timed-out
# task gets SIGTERM and re-queues its trial; a rerun of the script continues the study.
# Environment: GPUS_PER_WORKER (1), CPUS_PER_TASK (5), SBATCH_ARGS (extra sbatch options,
# e.g. "--time=24:00:00 --qos=low"), PYTHON (python), LOG_DIR (work_dirs/sweeps/slurm).
set -euo pipefail

if [[ $# -lt 4 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    # asked for: success; too few arguments: a usage error
    [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && exit 0 || exit 2
fi

PARTITION=$1
JOB_NAME=$2
SPEC=$3
WORKERS=$4
shift 4
if ! [[ "${WORKERS}" =~ ^[1-9][0-9]*$ ]]; then
    echo "WORKERS must be a positive number, got '${WORKERS}'" >&2
    exit 2
fi
if [[ ! -f "${SPEC}" ]]; then
    echo "sweep spec not found: ${SPEC}" >&2
    exit 2
fi
GPUS_PER_WORKER=${GPUS_PER_WORKER:-1}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SBATCH_ARGS=${SBATCH_ARGS:-}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOG_DIR=${LOG_DIR:-work_dirs/sweeps/slurm}
mkdir -p "${LOG_DIR}"

# The worker's command line, quoted for the batch script.
WORKER_ARGS=$(printf '%q ' "${SPEC}" --local "$@")

# SBATCH_ARGS is a list of options: split on spaces on purpose.
# shellcheck disable=SC2086
sbatch -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --array=0-$((WORKERS - 1)) \
    --ntasks=1 \
    --gres=gpu:"${GPUS_PER_WORKER}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --output="${LOG_DIR}/%x-%A_%a.out" \
    ${SBATCH_ARGS} <<EOS
#!/usr/bin/env bash
cd $(printf '%q' "${ROOT}")
export PYTHONPATH=$(printf '%q' "${ROOT}")\${PYTHONPATH:+:\${PYTHONPATH}}
# exec: the worker itself receives Slurm's SIGTERM and re-queues its trial.
exec $(printf '%q' "${PYTHON}") -u tools/sweep.py ${WORKER_ARGS}
EOS
