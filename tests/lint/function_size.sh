#!/usr/bin/env bash
# Goal: functions stay short (the house rule: about 70 lines at most), so each one
# can be read and checked whole.
# Method: in kernel style a function body opens with "{" alone at column 0
# and closes with "}" at column 0; count the lines between them in every C
# file of node/, sim/ and fuzz/ (tests are exempt: a table of cases is long
# by nature). Fails above LIMIT lines. Usage: function_size.sh SOURCE_DIR
set -euo pipefail
cd "$1"
LIMIT=70
dirs=$(for d in node sim fuzz; do if [ -d "$d" ]; then echo "$d"; fi; done)
files=$(find $dirs -name '*.c' | sort)
awk -v limit="$LIMIT" '
	FNR == 1 { prev = "" }
	/^\{$/ { start = FNR; name = prev }
	/^\}/ && start { n = FNR - start - 1; if (n > limit) { printf "%s:%d: %s: %d lines\n", FILENAME, start, name, n; bad = 1 } start = 0 }
	{ if ($0 !~ /^\{$/) prev = $0 }
	END { exit bad }
' $files && echo "ok: no function over $LIMIT lines"
