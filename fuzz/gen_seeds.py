#!/usr/bin/env python3
"""gen_seeds.py: writes the seed corpora and dictionaries of the fuzz targets.

Goal: each target starts from inputs shaped like real traffic (redis-cli and
redis-benchmark requests, pipelines, inline commands, big bulks, RESP2 and
RESP3 replies of every type) and from the protocol edge cases found against redis-server 7.0.15,
encoded in the target's own input format (see each target's header comment).

Method: synthetic seeds are built here; with a capture directory (from
capture_traffic.py) the recorded requests and replies are added too. Seeds
are named for what they hold; files that exist are overwritten, others are
left alone (libFuzzer's merged entries keep their hash names).
Usage: gen_seeds.py FUZZ_DIR [CAPTURE_DIR]
"""
import os
import re
import struct
import sys

BIG = 32768  # PROTO_BIGBULK_MIN


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def view(stream):
    """The parser's view of a request stream: big bulks' payloads removed."""
    out, i = bytearray(), 0
    while i < len(stream):
        if stream[i:i + 1] != b"*":
            nl = stream.find(b"\n", i)
            end = len(stream) if nl < 0 else nl + 1
            out += stream[i:end]
            i = end
            continue
        cr = stream.find(b"\r\n", i)
        if cr < 0:
            out += stream[i:]
            break
        n = int(stream[i + 1:cr])
        out += stream[i:cr + 2]
        i = cr + 2
        for _ in range(max(n, 0)):
            cr = stream.find(b"\r\n", i)
            if cr < 0:
                out += stream[i:]
                return bytes(out)
            ln = int(stream[i + 1:cr])
            out += stream[i:cr + 2]
            i = cr + 2
            if ln >= BIG:
                i += ln + 2
            else:
                out += stream[i:i + ln + 2]
                i += ln + 2
    return bytes(out)


class Corpus:
    def __init__(self, root, target):
        self.dir = os.path.join(root, "corpus", target)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def add(self, name, data):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.n += 1


# ---- fuzz_resp and fuzz_bigbulk_tail ----

REQUESTS = {
    "cli-set": cmd("SET", "foo", "bar"),
    "cli-get-mget": cmd("GET", "foo") + cmd("MGET", "a", "b", "c"),
    "hello3-setinfo": cmd("HELLO", "3") + cmd("CLIENT", "SETINFO", "LIB-NAME", "redis-py")
    + cmd("CLIENT", "SETINFO", "LIB-VER", "5.0.1"),
    "benchmark-pipeline": b"".join(cmd("SET", "key:__rand_int__", "xxx") for _ in range(8)),
    "benchmark-config": cmd("CONFIG", "GET", "save") + cmd("CONFIG", "GET", "appendonly"),
    "inline-ping": b"PING\r\n",
    "inline-lf": b"PING\nECHO hi\n",
    "inline-quotes": b"SET \"a b\" 'c d'\r\nGET \"\\x41\\x42\\n\" 'it\\'s'\r\n",
    "inline-unbalanced": b"SET \"abc\r\n",
    "inline-quote-glued": b"SET \"a\"b c\r\n",
    "inline-empty-lines": b"\r\n\n  \r\nPING\r\n",
    "inline-resp3-type": b"%1\r\n",
    "empty-counts": b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
    "payload-unchecked": b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
    "bad-dollar": b"*1\r\nx4\r\nPING\r\n",
    "bad-count": b"*+1\r\n",
    "bad-count-zero": b"*01\r\n",
    "bad-bulk-neg": b"*1\r\n$-1\r\n",
    "bulk-max-edge": b"*1\r\n$536870912\r\n",
    "bulk-over-max": b"*1\r\n$536870913\r\n",
    "count-int-max": b"*2147483648\r\n",
    "nul-in-line": b"SET a\x00b c\r\n",
    "bigbulk-set": cmd("SET", "k", "v" * 40000) + cmd("GET", "k"),
    "bigbulk-two": b"*3\r\n$3\r\nSET\r\n$40000\r\n$50000\r\n*1\r\n$4\r\nPING\r\n",
    "unauth-bulk": b"*2\r\n$4\r\nAUTH\r\n$16385\r\n",
    "unauth-count": b"*11\r\n",
}


def resp_header(flags, cuts):
    return bytes([flags, len(cuts)]) + bytes(cuts)


def gen_resp(root, captures):
    c = Corpus(root, "fuzz_resp")
    t = Corpus(root, "fuzz_bigbulk_tail")
    cut_sets = {"whole": [], "bytes": [1], "mixed": [1, 7, 3, 200, 0, 13]}
    for name, req in REQUESTS.items():
        v = view(req)
        for cname, cuts in cut_sets.items():
            c.add("%s-%s" % (name, cname), resp_header(0x00, cuts) + v)
        c.add(name + "-auth", resp_header(0x01, [5]) + v)
        t.add("raw-" + name, resp_header(0x80, [3, 11]) + v)
        t.add("raw-auth-" + name, resp_header(0x83, []) + v)
    # The 64 KB limits, through the expansion escape (flag bit 6).
    esc = lambda ch, n: b"\xfe" + bytes([ch]) + struct.pack("<H", n - 1)
    c.add("limit-inline", resp_header(0x40, [0xff]) + esc(0x61, 65536) + esc(0x61, 2))
    c.add("limit-inline-ok", resp_header(0x40, [0xff]) + esc(0x61, 65536) + b"\n")
    c.add("limit-count", resp_header(0x40, []) + b"*" + esc(0x31, 65536))
    c.add("limit-header", resp_header(0x40, [0xf5]) + b"*1\r\n$" + esc(0x31, 65536))
    # bulk_max picked small (bits 2-5 index a table of edges).
    c.add("small-bulk-max", resp_header(0x04, []) + cmd("SET", "k", "v"))
    for name, data in captures.get("requests", {}).items():
        v = view(data)[:8192]
        c.add("capture-" + name, resp_header(0x00, [0xff]) + v)
        c.add("capture-cut-" + name, resp_header(0x80, [1, 2, 64]) + v)
        t.add("capture-" + name, resp_header(0x80, [0xff]) + v)
    gen_tail_tokens(t)
    return c.n, t.n


def gen_tail_tokens(t):
    """Token streams for fuzz_bigbulk_tail (see tail_token())."""
    # kinds: 0 count, 1 header, 2 payload, 3 raw, 4 ping, 5 set+header,
    # 6 inline with $N, 7 CRLF, 8 CR. Length byte k: edge (k>>4), offset.
    big = lambda edge, off: bytes([(edge << 4) | (off + 3)])
    t.add("tok-set-big", bytes([0x00, 0]) + bytes([5]) + big(0, 0) + bytes([4]))
    t.add("tok-set-big-unauth", bytes([0x01, 0]) + bytes([5]) + big(0, 0))
    t.add("tok-edges", bytes([0x00, 2, 1, 5]) + bytes([0, 2, 1]) + big(1, 0) + bytes([1])
          + big(0, 1))
    t.add("tok-fake-in-payload", bytes([0x00, 0]) + bytes([0, 1, 1, 3, 1]) + big(2, 0)
          + bytes([2, 8, 0x21]))
    t.add("tok-inline-dollar", bytes([0x00, 1, 1]) + bytes([6]) + big(0, 0) + bytes([7]))
    t.add("tok-bulk-max", bytes([0x10, 0]) + bytes([5]) + big(3, 3) + bytes([5])
          + big(3, 4))


# ---- fuzz_reply ----

def gen_reply(root, captures):
    c = Corpus(root, "fuzz_reply")
    # Round trip: mode byte (bit 0: RESP3), cuts, then operations.
    ops = {
        "ints": bytes([0x00, 0, 0, 0x08] + [1] * 8 + [0, 0x00, 5]),
        "array-of-bulks": bytes([0x01, 0, 0, 0x07 | (0 << 3), 3, 0x04, 3]) + b"\x03abc"
        + bytes([0x04, 3]) + b"\x00" + bytes([0x0c]),
        "map-resp3": bytes([0x01, 1, 5, 0, 0x0f, 2, 1, 1, 2, 4, 0x14, 1, 0x02]),
        "big-bulk-ref": bytes([0x00, 0, 0, 0x1c, 0xf1, 0x00, 0x10]),
        "errors": bytes([0x00, 0, 0, 0x03, 3]) + b"bad" + bytes([0, 0x0b, 4]) + b"-ERR\n"
        + bytes([0, 0x13, 3]) + b"x\x00y",
        "hold-fill": bytes([0x01, 0, 4, 0x01, 0, 0x01, 6, 1, 0, 7, 0, 0, 0x01]),
        "suppressed": bytes([0x00, 0, 3, 0x01, 0, 0x01, 5, 0x01, 0, 0x01]),
        "short-writes": bytes([0x00, 2, 1, 3, 0, 0x1c, 0xf0, 0x00, 0x20, 6, 3, 5, 0, 6, 1,
                               1, 0]),
        "resp3-types": bytes([0x01, 0, 0, 0x05, 0, 0x0d, 0, 0x15, 1, 0x1d, 1, 0x25, 0x61,
                              0x62, 0x63, 3]) + b"hey",
        "resp2-types": bytes([0x00, 0, 0, 0x05, 0, 0x0d, 0, 0x15, 1, 0x1d, 1, 0x25, 0x61,
                              0x62, 0x63, 3]) + b"hey",
    }
    for name, data in ops.items():
        c.add("rt-" + name, data)
    # Raw bytes to the decoder: mode 0x06, limits, cuts, then bytes.
    lim = bytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    raw = {
        "resp2": b"+OK\r\n-ERR x\r\n:12\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n*-1\r\n",
        "resp3": b"_\r\n,1.5\r\n,inf\r\n,-nan\r\n#t\r\n!3\r\nerr\r\n=7\r\ntxt:abc\r\n"
        b"(12345678901234567890\r\n%1\r\n+a\r\n:1\r\n~1\r\n:2\r\n>1\r\n+p\r\n|1\r\n+k\r\n"
        b"+v\r\n:7\r\n",
        "streamed": b"$?\r\n;4\r\nabcd\r\n;0\r\n",
        "deep": b"*1\r\n" * 12 + b":1\r\n",
        "bare-lf": b"+OK\n",
    }
    for name, data in raw.items():
        c.add("raw-" + name, bytes([0x06]) + lim + bytes([2, 1, 5]) + data)
    for name, data in captures.get("replies", {}).items():
        c.add("capture-" + name, bytes([0x06]) + lim + bytes([0]) + data[:8192])
        c.add("capture-cut-" + name, bytes([0x06]) + lim + bytes([3, 1, 2, 9]) + data[:8192])
    return c.n


# ---- fuzz_commands ----

def lit(a):
    a = a if isinstance(a, bytes) else str(a).encode()
    assert len(a) < 64
    return bytes([len(a)]) + a


def big_arg(n, fill):
    return bytes([0xc0 | (n >> 13)]) + struct.pack("<H", n & 0x1fff) + bytes([fill])


def fc_argc(n):
    """The byte fc_gen_cmd() reads as the argument count."""
    return n - 1 if n <= 6 else 0xf0 + n - 1


def wire(args, how):
    """The request as fc_b_batch() sends it: inline (how bit 0, bare words
    here) or multibulk."""
    vals = [bytes([a[1]]) * a[0] if isinstance(a, tuple) else a.encode() for a in args]
    if how & 1 and sum(4 * len(v) + 9 for v in vals) < 65534:
        return b" ".join(vals) + (b"\n" if how & 2 else b"\r\n")
    return cmd(*vals)


def fc_args(args):
    return b"".join(big_arg(*a) if isinstance(a, tuple) else lit(a) for a in args)


def fc_cmd(conn, *args, diff=False, how=0):
    """A one-command operation on client conn, with B's operands in
    differential mode: the encoding byte, then one 16 KB read per piece."""
    out = bytes([(conn << 4) | 0, fc_argc(len(args))]) + fc_args(args)
    if diff:
        n = len(wire(args, how))
        out += bytes([how]) + bytes([0xff]) * ((n + 16383) // 16384)
    return out


def gen_commands(root):
    c = Corpus(root, "fuzz_commands")
    scripts = {
        "strings": [("SET", "k0", "v"), ("GET", "k0"), ("APPEND", "k0", "xyz"),
                    ("STRLEN", "k0"), ("SETRANGE", "k0", "10", "q"), ("GETRANGE", "k0", "0", "-1"),
                    ("INCR", "n"), ("INCRBY", "n", "-5"), ("INCRBYFLOAT", "n", "1.5"),
                    ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "c"), ("GETDEL", "a"),
                    ("SET", "k1", "v", "GET"), ("GETEX", "k1", "PX", "100")],
        "keys-expire": [("SET", "k0", "v", "EX", "10"), ("TTL", "k0"), ("PEXPIRE", "k0", "5"),
                        ("PERSIST", "k0"), ("EXPIRE", "k0", "1", "NX"), ("RENAME", "k0", "k1"),
                        ("COPY", "k1", "k2"), ("EXISTS", "k1", "k2", "k3"), ("TYPE", "k2"),
                        ("OBJECT", "ENCODING", "k2"), ("MEMORY", "USAGE", "k2"),
                        ("KEYS", "k*"), ("SCAN", "0", "MATCH", "k*", "COUNT", "2"),
                        ("RANDOMKEY",), ("DBSIZE",), ("DEL", "k1", "k2"),
                        ("FLUSHALL", "ASYNC"), ("DBSIZE",)],
        "connection": [("HELLO", "3"), ("CLIENT", "SETNAME", "fuzz"), ("CLIENT", "GETNAME"),
                       ("CLIENT", "ID"), ("CLIENT", "SETINFO", "LIB-NAME", "redis-py"),
                       ("CLIENT", "INFO"), ("CLIENT", "LIST"), ("CONFIG", "GET", "save"),
                       ("CONFIG", "GET", "appendonly"), ("COMMAND", "COUNT"),
                       ("COMMAND", "INFO", "get"), ("COMMAND", "GETKEYS", "SET", "a", "b"),
                       ("PING",), ("ECHO", "hi"), ("RESET",), ("SELECT", "0"), ("TIME",),
                       ("INFO",), ("LASTSAVE",)],
        "reply-modes": [("CLIENT", "REPLY", "SKIP"), ("SET", "a", "1"), ("GET", "a"),
                        ("CLIENT", "REPLY", "OFF"), ("INCR", "a"), ("CLIENT", "REPLY", "ON"),
                        ("GET", "a"), ("QUIT",)],
        "server": [("CONFIG", "SET", "hz", "100"), ("DEBUG", "SLEEP", "0.2"),
                   ("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("CONFIG", "SET", "maxmemory", "1mb"),
                   ("SET", "k", "v"), ("CONFIG", "RESETSTAT"), ("INFO", "memory"),
                   ("CONFIG", "SET", "maxmemory", "0")],
        "auth": [("GET", "k"), ("AUTH", "wrong"), ("AUTH", "secret"), ("SET", "k", "v"),
                 ("HELLO", "3", "AUTH", "default", "secret"), ("RESET",), ("GET", "k")],
        "introspection": [("SET", "k0", "v"), ("COMMAND", "DOCS", "get", "set"),
                          ("COMMAND", "INFO", "get", "client|list"), ("COMMAND",),
                          ("COMMAND", "LIST", "FILTERBY", "ACLCAT", "string"),
                          ("COMMAND", "LIST", "FILTERBY", "PATTERN", "g*"),
                          ("COMMAND", "LIST", "FILTERBY", "MODULE", "m"), ("COMMAND", "DOCS"),
                          ("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
                          ("OBJECT", "FREQ", "k0"), ("OBJECT", "IDLETIME", "k0"),
                          ("OBJECT", "REFCOUNT", "k0"), ("OBJECT", "HELP"),
                          ("MEMORY", "USAGE", "k0", "SAMPLES", "5"), ("MEMORY", "HELP"),
                          ("COPY", "k0", "k1", "DB", "0", "REPLACE"), ("DEBUG", "HELP"),
                          ("CONFIG", "GET", "*"), ("INFO", "all"), ("INFO", "everything"),
                          ("INFO", "commandstats", "errorstats"), ("CLIENT", "HELP"),
                          ("CONFIG", "HELP")],
        "clients": [("CLIENT", "SETNAME", "a"), ("CLIENT", "LIST", "TYPE", "normal"),
                    ("CLIENT", "LIST", "ID", "1", "2", "3"), ("CLIENT", "INFO"),
                    ("CLIENT", "SETINFO", "LIB-VER", "1.0"),
                    ("CLIENT", "KILL", "TYPE", "pubsub"),
                    ("CLIENT", "KILL", "ADDR", "127.0.0.1:40001", "SKIPME", "no"),
                    ("CLIENT", "KILL", "LADDR", "127.0.0.1:6379", "USER", "default"),
                    ("CLIENT", "KILL", "MAXAGE", "1"), ("CLIENT", "KILL", "127.0.0.1:40002"),
                    ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "KILL", "ID", "1")],
        "expired-scan": [("SET", "a", "1", "PX", "1"), ("SET", "b", "2", "PX", "1"),
                         ("DEBUG", "SLEEP", "0.01"), ("SCAN", "0", "TYPE", "string"),
                         ("RANDOMKEY",), ("KEYS", "*"), ("TTL", "a"), ("EXPIRETIME", "b"),
                         ("SET", "c", "3", "EXAT", "1"), ("PEXPIREAT", "c", "1", "GT"),
                         ("DBSIZE",)],
        "config-set": [("CONFIG", "SET", "maxclients", "3", "timeout", "5"),
                       ("CONFIG", "SET", "loglevel", "debug"),
                       ("CONFIG", "SET", "client-output-buffer-limit", "normal 100 50 1"),
                       ("GET", "k"), ("CONFIG", "SET", "proto-max-bulk-len", "1mb"),
                       ("CONFIG", "SET", "requirepass", "pw"), ("AUTH", "pw"),
                       ("CONFIG", "SET", "requirepass", ""),
                       ("CONFIG", "SET", "bigbulk-reserve-max", "0"),
                       ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"),
                       ("CONFIG", "SET", "save", "x"), ("CONFIG", "RESETSTAT")],
        "eviction": [("CONFIG", "SET", "maxmemory-policy", "allkeys-sieve"),
                     ("SET", "k0", (200, 0x78)), ("SET", "k1", "y", "EX", "100"),
                     ("CONFIG", "SET", "maxmemory", "100kb"), ("GET", "k0"),
                     ("HSET", "k2", "f", "v"), ("OBJECT", "FREQ", "k0"),
                     ("CONFIG", "SET", "maxmemory-policy", "volatile-sieve"),
                     ("SET", "k3", (300, 0x7a)), ("OBJECT", "IDLETIME", "k1"),
                     ("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu",
                      "lfu-log-factor", "0"), ("GET", "k3"), ("OBJECT", "FREQ", "k3"),
                     ("CONFIG", "SET", "maxmemory-policy", "volatile-ttl"),
                     ("MEMORY", "STATS"), ("MEMORY", "DOCTOR"), ("MEMORY", "PURGE"),
                     ("CONFIG", "SET", "maxmemory", "0"), ("DBSIZE",)],
        "hashes": [("HSET", "k0", "f1", "1", "f2", "v"), ("HINCRBY", "k0", "f1", "5"),
                   ("HINCRBYFLOAT", "k0", "f1", "0.5"), ("HGETALL", "k0"),
                   ("HRANDFIELD", "k0", "-3", "WITHVALUES"), ("HSCAN", "k0", "0", "MATCH", "f*"),
                   ("CONFIG", "SET", "hash-max-listpack-entries", "1"), ("HSET", "k0", "f3", "x"),
                   ("OBJECT", "ENCODING", "k0"), ("HDEL", "k0", "f1", "f2", "f3"), ("EXISTS", "k0")],
        "bitmaps": [("SETBIT", "k0", "100", "1"), ("BITCOUNT", "k0", "0", "-1", "BIT"),
                    ("BITPOS", "k0", "1"), ("BITOP", "XOR", "k1", "k0", "k2"),
                    ("BITFIELD", "k0", "INCRBY", "u8", "#1", "300", "OVERFLOW", "SAT",
                     "INCRBY", "i5", "0", "100"), ("GETBIT", "k1", "100"),
                    ("PFADD", "k3", "a", "b", "c"), ("PFCOUNT", "k3", "k0"), ("PFMERGE", "k3", "k3")],
        "lists": [("RPUSH", "k0", "a", "b", "c", "1", "2"), ("LPUSH", "k0", "x"),
                  ("LRANGE", "k0", "0", "-1"), ("LINSERT", "k0", "BEFORE", "b", "y"),
                  ("LPOS", "k0", "b", "RANK", "-1", "COUNT", "0", "MAXLEN", "10"),
                  ("LSET", "k0", "-1", "z"), ("LREM", "k0", "0", "a"), ("LTRIM", "k0", "1", "-2"),
                  ("LMOVE", "k0", "k1", "LEFT", "RIGHT"), ("LMPOP", "2", "k1", "k0", "RIGHT", "COUNT", "2"),
                  ("CONFIG", "SET", "list-max-listpack-size", "2"), ("RPUSH", "k2", "1", "2", "3", "4", "5"),
                  ("CONFIG", "SET", "list-compress-depth", "1"), ("LINDEX", "k2", "2"),
                  ("RPOPLPUSH", "k2", "k2"), ("OBJECT", "ENCODING", "k2"), ("LPOP", "k2", "4")],
        "blocking": [("RPUSH", "k0", "a", "b"), ("BLPOP", "k0", "k1", "0"),
                     ("BLPOP", "k1", "0.01"), ("RPUSH", "k1", "x"),
                     ("BLMOVE", "k0", "k1", "LEFT", "RIGHT", "0"), ("BRPOPLPUSH", "k9", "k1", "0"),
                     ("ZADD", "k2", "1", "m", "2", "n"), ("BZPOPMIN", "k3", "k2", "0"),
                     ("BZMPOP", "0", "1", "k2", "MAX", "COUNT", "3"),
                     ("BLMPOP", "0.5", "2", "k3", "k1", "RIGHT", "COUNT", "2"),
                     ("MULTI",), ("BLPOP", "k5", "0"), ("BZPOPMAX", "k5", "0"), ("EXEC",),
                     ("BLPOP", "k0", "-1"), ("BLMPOP", "0", "0", "k0", "LEFT"),
                     ("CLIENT", "UNBLOCK", "1", "ERROR"), ("BZPOPMAX", "k2", "x")],
        "sets": [("SADD", "k0", "1", "2", "3"), ("SADD", "k1", "3", "a", "b"),
                 ("SINTER", "k0", "k1"), ("SUNIONSTORE", "k2", "k0", "k1"),
                 ("SDIFF", "k2", "k0"), ("SINTERCARD", "2", "k0", "k1", "LIMIT", "1"),
                 ("SMOVE", "k1", "k0", "a"), ("SPOP", "k2", "2"), ("SRANDMEMBER", "k0", "-5"),
                 ("SMISMEMBER", "k0", "1", "a"), ("SSCAN", "k0", "0", "COUNT", "1"),
                 ("OBJECT", "ENCODING", "k0"), ("UNLINK", "k0", "k1", "k2")],
        "sort": [("RPUSH", "k0", "3", "1", "2"), ("MSET", "w_1", "30", "w_2", "20", "w_3", "10"),
                 ("SORT", "k0"), ("SORT", "k0", "BY", "w_*", "GET", "#", "GET", "k*->f1"),
                 ("SORT", "k0", "ALPHA", "DESC", "LIMIT", "0", "2", "STORE", "k1"),
                 ("SORT_RO", "k1", "BY", "nosort"), ("SADD", "k2", "b", "a"),
                 ("SORT", "k2", "ALPHA"), ("SORT", "k2")],
        "transactions": [("WATCH", "k0", "k1"), ("SET", "k0", "v"), ("MULTI",), ("MULTI",),
                         ("INCR", "k0"), ("GET", "k1"), ("EXEC",), ("EXEC", "x"),
                         ("WATCH", "k2"), ("EXEC",), ("MULTI",), ("RPUSH", "k2", "a"),
                         ("FOO",), ("UNWATCH",), ("EXEC",), ("DISCARD",), ("MULTI",),
                         ("FLUSHALL",), ("SET", "k3", (300, 0x7a)), ("WATCH", "k3"),
                         ("EXEC",), ("MULTI",), ("DEL", "k3"), ("GET", "k3"), ("RESET",),
                         ("EXEC",)],
        "operator": [("CONFIG", "SET", "slowlog-log-slower-than", "0"), ("WAIT", "1", "0"),
                     ("PING",), ("WAIT", "0", "0"), ("SLOWLOG", "LEN"),
                     ("CLIENT", "UNBLOCK", "1"), ("CLIENT", "NO-TOUCH", "ON"), ("GET", "k"),
                     ("SLOWLOG", "RESET"), ("SHUTDOWN", "ABORT"), ("MULTI",),
                     ("WAIT", "1", "0"), ("EXEC",), ("WAIT", "1", "5"), ("SHUTDOWN", "NOSAVE")],
        "big-values": [("SET", "big", (40000, 0x61)), ("GET", "big"), ("APPEND", "big", "x"),
                       ("STRLEN", "big"), ("GETRANGE", "big", "39990", "-1"),
                       ("SET", "n", (32768, 3)), ("INCR", "n")],
    }
    for name, cmds in scripts.items():
        for diff in (False, True):
            cfg = bytes([(1 if diff else 0) | (2 if name == "auth" else 0), 0])
            body = b"".join(fc_cmd(i % 2, *a, diff=diff, how=(i % 2) if diff else 0)
                            for i, a in enumerate(cmds))
            c.add("%s-%s" % (name, "diff" if diff else "direct"), cfg + body)
    # Clients and time: connect 1, kill it from 0, advance the clock (the
    # timer fires: active expiry, idle close with timeout), short writes.
    for diff in (False, True):
        world = (fc_cmd(0, "SET", "t", "v", "PX", "50", diff=diff) + bytes([0x1a])
                 + fc_cmd(1, "CLIENT", "ID", diff=diff)
                 + fc_cmd(0, "CLIENT", "KILL", "ID", "2", diff=diff)
                 + bytes([0x0c]) + struct.pack("<H", 200) + bytes([0x0d, 3])
                 + fc_cmd(0, "GET", "t", diff=diff) + bytes([0x0e, 3])
                 + fc_cmd(0, "CLIENT", "LIST", diff=diff) + bytes([0x0f, 0])
                 + fc_cmd(0, "PING", diff=diff) + bytes([0x0b, 0]))
        c.add("world-%s" % ("diff" if diff else "direct"),
              bytes([0x20 | (1 if diff else 0), 0x10]) + world)
    # A value sent by reference, changed while its reply waits to be
    # written: GET, then SETRANGE, APPEND and SET in the same pipeline.
    for diff in (False, True):
        batch = [("GET", "big"), ("SETRANGE", "big", "0", "xyz"), ("APPEND", "big", "q"),
                 ("SET", "big", "small")]
        body = fc_cmd(0, "SET", "big", (40000, 0x61), diff=diff)
        body += bytes([0x09, 2]) + b"".join(bytes([fc_argc(len(a))]) + fc_args(a) for a in batch)
        if diff:
            n = sum(len(wire(a, 0)) for a in batch)
            body += bytes(4) + bytes([0x40]) * ((n + 64) // 65)
        body += fc_cmd(0, "GET", "big", diff=diff)
        c.add("zero-copy-%s" % ("diff" if diff else "direct"), bytes([1 if diff else 0, 0]) + body)
    # A pipeline of four (operation 9), B cutting it into 5-byte reads.
    sets = [("SET", "k%d" % i, "v") for i in range(4)]
    pipe = bytes([0x09, 2]) + b"".join(bytes([fc_argc(3)]) + fc_args(a) for a in sets)
    c.add("pipeline-direct", bytes([0x00, 0]) + pipe)
    hows = [0, 1, 0, 3]
    n = sum(len(wire(a, h)) for a, h in zip(sets, hows))
    c.add("pipeline-diff", bytes([0x01, 0]) + pipe + bytes(hows) + bytes([4]) * ((n + 4) // 5))
    return c.n


# ---- dictionaries ----

# A sparse HyperLogLog as redis-server 7.0.15 writes it (PFADD of apple,
# banana, cherry, date, elderberry, fig and grape; the cached count is 7).
REDIS_HLL = bytes.fromhex("48594c4c01000000070000000000000041df80493580427a8046fc8c55478049"
                          "3384 4b668841 87".replace(" ", ""))


def gen_hll(root):
    """fuzz_hll: raw strings (byte 0 even) and update sequences (byte 0 odd;
    bits 1-2 pick the sparse limit), see fuzz_hll.c."""
    d = os.path.join(root, "corpus", "fuzz_hll")
    os.makedirs(d, exist_ok=True)
    empty = b"HYLL\x01" + b"\x00" * 11 + b"\x7f\xff"
    seeds = {
        "raw-redis-sparse": b"\x00" + REDIS_HLL,
        "raw-empty": b"\x00" + empty,
        "raw-stale-cache": b"\x00" + REDIS_HLL[:15] + b"\x80" + REDIS_HLL[16:],
        "raw-cut-xzero": b"\x00" + empty[:-1],
        "raw-short-run": b"\x00" + empty[:16] + b"\x7f\xfe",
        "raw-long-run": b"\x00" + empty[:16] + b"\x7f\xff\x80",
        "raw-dense-header": b"\x00" + b"HYLL\x00" + b"\x00" * 11,
    }
    x = 12345
    for name, mode, n in (("build-default", 1, 400), ("build-tiny-limit", 3, 60),
                          ("build-promote", 1, 2000), ("build-dense-limit", 7, 300)):
        out = bytearray([mode])
        for _ in range(n):
            x = (x * 1103515245 + 12345) & 0x7fffffff
            out += struct.pack("<I", x)[:3]
        seeds[name] = bytes(out)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    return len(seeds)


def write_dict(root, target, entries):
    def esc(b):
        return "".join(chr(x) if 32 <= x < 127 and chr(x) not in '"\\' else "\\x%02x" % x
                       for x in b)
    with open(os.path.join(root, target + ".dict"), "w") as f:
        f.write("# %s: tokens for libFuzzer (-dict). Generated by gen_seeds.py.\n" % target)
        for i, e in enumerate(entries):
            f.write('t%d="%s"\n' % (i, esc(e)))


def command_words(root):
    """The (sub)command names of node/cmd/commands.def (tools/gen-commands):
    one line per command, CMD(id, parent, name, fullname, handler, arity,
    flags, first_key, last_key, key_step, keynum, route); no column holds a
    comma."""
    text = open(os.path.join(root, "..", "node", "cmd", "commands.def")).read()
    names = []
    for line in re.findall(r'^CMD\((.*)\)$', text, re.M):
        cols = [c.strip() for c in line.split(",")]
        if len(cols) != 12 or not re.fullmatch(r'"[a-z_-]+"', cols[2]):
            sys.exit("gen_seeds.py: unexpected line in commands.def: CMD(%s)" % line)
        names.append(cols[2].strip('"'))
    if not names:
        sys.exit("gen_seeds.py: no CMD(...) line in commands.def")
    return sorted(set(names))


def gen_dicts(root):
    req = [b"*1\r\n", b"*2\r\n", b"*3\r\n", b"$3\r\n", b"$4\r\n", b"\r\n", b"PING", b"SET",
           b"GET", b"\"", b"'", b"\\x41", b"\\'", b"$32768\r\n", b"$32767\r\n", b"$16384\r\n",
           b"$16385\r\n", b"$-1\r\n", b"*-1\r\n", b"*0\r\n", b"*11\r\n", b"$536870912\r\n",
           b"$536870913\r\n", b"*2147483648\r\n", b"\xfe", b"00", b"-0", b"\x00"]
    write_dict(root, "fuzz_resp", req)
    write_dict(root, "fuzz_bigbulk_tail", req + [b"$40000\r\n", b"$65536\r\n"])
    write_dict(root, "fuzz_reply", [b"+OK\r\n", b"-ERR ", b":0\r\n", b"$-1\r\n", b"*-1\r\n",
                                    b"_\r\n", b",inf\r\n", b",-inf\r\n", b",nan\r\n", b"#t\r\n",
                                    b"#f\r\n", b"=7\r\ntxt:", b"(123\r\n", b"%1\r\n", b"~1\r\n",
                                    b">1\r\n", b"|1\r\n", b"$?\r\n", b"*?\r\n", b"!3\r\n",
                                    b"*1\r\n", b"$3\r\n", b"\r\n", b"1e+20", b"-0"])
    words = command_words(root) + ["ex", "px", "exat", "pxat", "nx", "xx", "keepttl", "get",
                                   "gt", "lt", "match", "count", "type", "async", "sync", "on",
                                   "off", "skip", "default", "secret", "id", "addr", "laddr",
                                   "skipme", "maxage", "user", "setname", "auth", "lib-name",
                                   "lib-ver", "samples", "maxmemory", "maxclients",
                                   "maxmemory-policy", "allkeys-sieve", "volatile-sieve",
                                   "allkeys-lru", "allkeys-lfu", "volatile-ttl",
                                   "noeviction", "maxmemory-samples", "lfu-log-factor",
                                   "maxmemory-eviction-tenacity", "100kb", "freq",
                                   "idletime", "stats", "doctor", "purge",
                                   "requirepass", "timeout", "hz", "0", "1", "-1", "3", "k0",
                                   "k1", "*", "withscores", "byscore", "bylex", "rev", "limit",
                                   "weights", "aggregate", "incr", "ch", "(1", "[a", "-inf",
                                   "+inf", "replace", "absttl"]
    write_dict(root, "fuzz_commands", [bytes([len(w)]) + w.encode() for w in words])
    write_dict(root, "fuzz_hll", [b"HYLL\x01\x00\x00\x00", b"HYLL\x00\x00\x00\x00",
                                  b"\x7f\xff", b"\x80", b"\xfc", b"\x40\x00", b"\x3f"])


def load_captures(cap):
    out = {}
    if cap is None:
        return out
    for kind in ("requests", "replies"):
        d = os.path.join(cap, kind)
        out[kind] = {}
        for name in sorted(os.listdir(d)):
            data = open(os.path.join(d, name), "rb").read()
            if data:
                out[kind][name.split(".")[0]] = data
    return out


def main():
    root = sys.argv[1]
    captures = load_captures(sys.argv[2] if len(sys.argv) > 2 else None)
    n_resp, n_tail = gen_resp(root, captures)
    n_reply = gen_reply(root, captures)
    n_cmd = gen_commands(root)
    n_hll = gen_hll(root)
    gen_dicts(root)
    print("seeds: fuzz_resp %d, fuzz_bigbulk_tail %d, fuzz_reply %d, fuzz_commands %d, "
          "fuzz_hll %d" % (n_resp, n_tail, n_reply, n_cmd, n_hll))


if __name__ == "__main__":
    main()
