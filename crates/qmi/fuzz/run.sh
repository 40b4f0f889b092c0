#!/usr/bin/env bash
# Fuzz the qmi decoder: ./run.sh [RUNS]  (default 1000000 executions per target)
# Works on a stable toolchain through RUSTC_BOOTSTRAP=1.
set -euo pipefail
RUNS="${1:-1000000}"
cd "$(dirname "$0")"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
mkdir -p corpus/decode_strict corpus/decode_kernel
# Seed both corpora with the spec vectors (R2, S3, I3).
for d in corpus/decode_strict corpus/decode_kernel; do
    printf '\x00\x02\x00\x01\x00\x2e\x00\x01\x01\x00\x01\x02\x04\x00\x00\x00\x01\x00\x10\x04\x00\x02\x00\x00\x00\x11\x04\x00\x02\x00\x00\x00\x12\x04\x00\x80\xbb\x00\x00\x13\x04\x00\x00\x20\x00\x00\x14\x04\x00\xe8\x03\x00\x00' > "$d/r2"
    printf '\x04\x00\x00\x01\x00\x12\x00\x01\x04\x00\x01\x00\x00\x00\x02\x04\x00\x01\x00\x00\x00\x19\x01\x00\x00' > "$d/i1"
    printf '\x02\x0a\x00\x01\x00\x0f\x00\x02\x04\x00\x00\x00\x00\x00\x14\x05\x00\x09\x04\x01\x01\x02' > "$d/d4"
done
for t in decode_strict decode_kernel; do
    echo "== $t ($RUNS runs)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" -- -runs="$RUNS" -max_len=512 -print_final_stats=1
done
