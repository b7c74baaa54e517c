#!/bin/bash -eu
# ClusterFuzzLite build script: the same build as OSS-Fuzz's.
exec "$SRC/cairn/fuzz/oss-fuzz/build.sh"
