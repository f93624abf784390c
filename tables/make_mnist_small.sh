#!/bin/sh
# Makes lcore/data/mnist_lenet5_small.npz, the shipped default table: the CPU-scaled MNIST
# LeNet-5 space (C1/C2 1-64 filters, Fc 1-256 units, filter 2-5), 2,000 Sobol configurations x
# 15 epochs, on the real MNIST test images (2,000 train / 1,000 validation, 14x14), 2 workers.
# Rerunning it resumes from the journal; it can be stopped (even kill -9) at any moment.
# About 3 h on two free cores. Run it in the background, e.g.:
#   setsid nohup nice -n 15 tables/make_mnist_small.sh > tables/mnist_small.log 2>&1 &
set -e
cd "$(dirname "$0")/.."
DATA_ROOT="${DATA_ROOT:-../shared/data/MNIST}"
exec python -m lcore.pretrain --preset mnist_lenet5 --scale small \
    --data-root "$DATA_ROOT" --n 2000 --epochs 15 --seed 0 \
    --out lcore/data/mnist_lenet5_small.npz \
    --journal tables/mnist_lenet5_small.journal.jsonl \
    --n-jobs 2 --threads-per-worker 1 --device cpu
