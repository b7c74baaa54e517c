#!/usr/bin/env bash
# Goal: the core never reaches the world except through node/io/io.h.
# Method: list the undefined symbols of every object in the core library
# (libcairn_core.a) and fail on any that names a clock, a random source, a
# thread, or a raw I/O or socket call. The list is node/README.md's rule (the core
# reaches the world only through io.h), spelled out, plus close relatives. Usage: forbidden_symbols.sh SOURCE_DIR LIBCAIRN_CORE.a
set -euo pipefail
lib=$2
forbidden='^(clock_gettime|clock_getres|gettimeofday|time|ftime|timespec_get|localtime|localtime_r|gmtime|gmtime_r|rand|rand_r|random|srand|srandom|drand48|lrand48|getrandom|getentropy|arc4random|pthread_.*|thrd_.*|mtx_.*|cnd_.*|fork|clone|io_uring_.*|__io_uring_.*|epoll_.*|poll|ppoll|select|pselect|read|write|readv|writev|pread|pwrite|send|sendto|sendmsg|recv|recvfrom|recvmsg|socket|accept|accept4|connect|bind|listen|close|open|openat|fopen|fread|fwrite|fclose|fprintf|printf|puts|perror|sleep|usleep|nanosleep|getpid|getenv|syscall|ioctl|mmap|munmap|signal|sigaction|exit|_exit)$'
bad=$(nm -u --format=posix "$lib" 2>/dev/null | awk '{print $1}' | sed 's/@.*//' | sort -u | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
  echo "core objects reference forbidden symbols:"
  for s in $bad; do
    echo "  $s, used by:"
    nm -A -u --format=posix "$lib" | awk -v s="$s" '$2==s || $2 ~ "^"s"@" {print "    " $1}'
  done
  exit 1
fi
echo "ok: no forbidden symbol in $(basename "$lib")"
