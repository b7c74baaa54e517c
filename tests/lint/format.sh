#!/usr/bin/env bash
# Goal: every C file follows .clang-format (the house style, kept by clang-format).
# Method: clang-format --dry-run --Werror over the C sources and headers of
# node/, sim/, fuzz/ and tests/; generated files (*.def) are not C sources.
# Skips (77) without clang-format. Usage: format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format not installed"; exit 77; }
dirs=$(for d in node sim fuzz tests; do if [ -d "$d" ]; then echo "$d"; fi; done)
files=$(find $dirs -name '*.[ch]' | sort)
clang-format --dry-run --Werror $files
echo "ok: $(echo "$files" | wc -w) files formatted"
