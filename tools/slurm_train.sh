#!/usr/bin/env bash
# Training on a Slurm cluster: srun starts one task per GPU and tools/train.py joins them
# with --launcher slurm (NCCL).
#
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG [GPUS] [train.py arguments...]
#
# GPUS (a number as the fourth argument, else $GPUS, else 8) is the total number of tasks.
# Environment: GPUS_PER_NODE (min(GPUS, 8)), CPUS_PER_TASK (5), SRUN_ARGS (extra srun
# options, e.g. "--quotatype=spot"), PORT (29500, the rendezvous port), PYTHON (python).
set -euo pipefail

if [[ $# -lt 3 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    # asked for: success; too few arguments: a usage error
    [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && exit 0 || exit 2
fi

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
GPUS=${GPUS:-8}
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    GPUS=$1
    shift
fi
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# SRUN_ARGS is a list of options: split on spaces on purpose.
# shellcheck disable=SC2086
MASTER_PORT=${PORT:-29500} \
PYTHONPATH="${ROOT}${PYTHONPATH:+:${PYTHONPATH}}" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "${PYTHON}" -u "${ROOT}/tools/train.py" "${CONFIG}" --launcher slurm "$@"
