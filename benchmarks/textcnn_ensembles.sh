#!/bin/bash
# TREC-6 and SST-2 TextCNN: five seeds of each recipe, then the five as one ensemble (seqlab evaluate --ensemble),
# one thread. Run from the repository root: bash benchmarks/textcnn_ensembles.sh (or benchmarks/reproduce.sh textcnn-ensembles)
set -e
export SEQLAB_THREADS=1 SEQLAB_PROGRESS=0
for name in trec-textcnn sst2-textcnn; do
  for seed in 1 2 3 4 5; do
    .venv/bin/seqlab train recipes/$name.yaml --out runs/results/$name-s$seed --set train.seed=$seed --overwrite
  done
  for split in dev test; do
    .venv/bin/seqlab evaluate runs/results/$name-s1 --split $split --ensemble runs/results/$name-s{2,3,4,5} --json
  done
done
