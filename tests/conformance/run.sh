#!/bin/sh
# ONNX conformance: Debian's libonnx-testdata (node/ and pytorch-converted/)
# plus thaw's own PyTorch-made fixtures. Every case whose model thaw imports
# runs and must match within 1e-4; the rest are counted as skipped.
# `-v` lists every case with the reason it was skipped.
set -e
cd "$(dirname "$0")/../.."
make -s build/test/test_onnx_conformance
DATA=/usr/share/libonnx-testdata/data
if [ ! -d "$DATA" ]; then
	echo "conformance: $DATA missing (apt install libonnx-testdata); only the fixtures run"
	exec build/test/test_onnx_conformance "$@" tests/fixtures/onnx
fi
exec build/test/test_onnx_conformance "$@" "$DATA/node" "$DATA/pytorch-converted" tests/fixtures/onnx
