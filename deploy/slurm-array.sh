#!/bin/bash
# usb-offload check in N shards as a Slurm job array (docs/distributed.md):
#   jid=$(sbatch --parsable deploy/slurm-array.sh)
#   sbatch --dependency=afterany:$jid --wrap 'usb-offload merge results/shard-*.jsonl > results/all.jsonl'
# Copy the shard files to results/last/ after a run: the next run plans its shards
# from them (--shard-sizes, even work per shard).
#SBATCH --job-name=usb-offload-check
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=02:00:00
#SBATCH --output=results/slurm-%A_%a.log

mkdir -p results
k=$SLURM_ARRAY_TASK_ID
n=${SLURM_ARRAY_TASK_COUNT:-4}
plan=()
last=(results/last/shard-*.jsonl)
[ -e "${last[0]}" ] && plan=(--shard-sizes "${last[@]}")
usb-offload check --json --quiet --jobs "$SLURM_CPUS_PER_TASK" --shard "$k/$n" "${plan[@]}" > "results/shard-$k.jsonl"
code=$?
# 1 (findings) and 3 (bounded) are results, not failures; 2 is a usage error.
[ "$code" -eq 2 ] && exit 2
exit 0
