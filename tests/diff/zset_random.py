#!/usr/bin/python3
"""Random differential test of the sorted set commands: the same random
commands against redis-server 7.0 and cairn-node, replies compared.

Goal: what the corpus (zsets.txt) pins by hand holds for sequences nobody
wrote: option combinations, scores that meet (inf, -inf, 0 and -0, halves,
0.1), members at the listpack limits (64 and 70 bytes), conversions both
ways under changing zset-max-listpack-entries and -value, results of the
STORE commands feeding later commands, and keys on several shards (run
with CAIRN_NODE_ARGS="--shards 4"). It found ZRANGESTORE losing a -0 that
Redis keeps.

Method: a fixed-seed generator draws commands over four keys (k1, k2, k3
and d; kl holds members of equal scores only, the one case where Redis's
lex ranges are defined over its big encoding) and sends each to both
servers through redis-py with its reply parsing turned off, so raw replies
compare. ZSCAN's reply compares as a set (a big set's order is its hash
table's), ZRANDMEMBER's by length when it picks fewer than the whole set.
At the end every key's whole content compares. Exit status 1 on the first
mismatches (up to five are shown, with the commands on the key before).

Usage: tests/diff/zset_random.py [--seed N] [--ops N] [--cairn PATH]
(CAIRN_NODE_ARGS as for the other tests). Not part of ctest: a run of
20,000 commands takes about 20 s.
"""
import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import cairn_test  # noqa: E402
import redis  # noqa: E402


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def member(self):
        return self.r.choice(["a", "b", "c", "d", "e", "f", "g", "h", "", "x" * 70, "y" * 10,
                              "z" * 64, "12", "-3", "1e5"] +
                             ["m%d" % self.r.randrange(300)] * 3)

    def score(self):
        return self.r.choice(["0", "-0", "1", "-1", "1.5", "2", "inf", "-inf", "0.1", "3",
                              str(self.r.randrange(-50, 50)), str(self.r.randrange(100) / 4)])

    def bound(self):
        return self.r.choice(["-inf", "+inf", "(1", "1", "(0", "5", "(2.5", "10", "-3"])

    def lex(self):
        return self.r.choice(["-", "+", "[a", "(a", "[c", "(d", "[m1", "(m5", "[m"])

    def limit(self):
        if self.r.random() < .4:
            return ["LIMIT", str(self.r.randrange(-1, 10)), str(self.r.randrange(-1, 10))]
        return []

    def pairs(self, n):
        return sum([[self.score(), self.member()] for _ in range(self.r.randrange(1, n))], [])

    def lex_command(self, k):
        r = self.r
        return r.choice([
            lambda: ["ZADD", k] + sum([["0", self.member()] for _ in range(r.randrange(1, 20))],
                                      []),
            lambda: ["ZRANGEBYLEX", k, self.lex(), self.lex()] + self.limit(),
            lambda: ["ZREVRANGEBYLEX", k, self.lex(), self.lex()] + self.limit(),
            lambda: ["ZLEXCOUNT", k, self.lex(), self.lex()],
            lambda: ["ZREMRANGEBYLEX", k, self.lex(), self.lex()],
            lambda: ["ZRANGE", k, self.lex(), self.lex(), "BYLEX"] + r.choice([[], ["REV"]]),
            lambda: ["ZREM", k, self.member(), self.member()],
        ])()

    def command(self):
        r = self.r
        k = r.choice(["k1", "k2", "k3", "kl"])
        if k == "kl":
            return self.lex_command(k)
        any3 = lambda: r.choice(["k1", "k2", "k3"])  # noqa: E731
        return r.choice([
            lambda: ["ZADD", k] + r.choice([[], ["NX"], ["XX"], ["GT"], ["LT"], ["CH"],
                                            ["GT", "CH"], ["XX", "LT", "CH"]]) + self.pairs(40),
            lambda: ["ZADD", k, "INCR", self.score(), self.member()],
            lambda: ["ZINCRBY", k, self.score(), self.member()],
            lambda: ["ZREM", k, self.member(), self.member(), self.member()],
            lambda: ["ZRANGE", k, str(r.randrange(-20, 20)), str(r.randrange(-20, 200))] +
            r.choice([[], ["WITHSCORES"]]) + r.choice([[], ["REV"]]),
            lambda: ["ZRANGEBYSCORE", k, self.bound(), self.bound(), "WITHSCORES"] +
            self.limit(),
            lambda: ["ZREVRANGEBYSCORE", k, self.bound(), self.bound()] + self.limit(),
            lambda: ["ZCOUNT", k, self.bound(), self.bound()],
            lambda: ["ZRANK", k, self.member()],
            lambda: ["ZREVRANK", k, self.member()],
            lambda: ["ZSCORE", k, self.member()],
            lambda: ["ZMSCORE", k, self.member(), self.member()],
            lambda: ["ZREMRANGEBYRANK", k, str(r.randrange(-10, 10)), str(r.randrange(-10, 10))],
            lambda: ["ZREMRANGEBYSCORE", k, self.bound(), self.bound()],
            lambda: ["ZPOPMIN", k, str(r.randrange(0, 4))],
            lambda: ["ZPOPMAX", k],
            lambda: ["ZCARD", k],
            lambda: ["ZUNIONSTORE", r.choice(["k1", "k2", "k3", "d"]), "2", any3(), any3()] +
            r.choice([[], ["WEIGHTS", "2", "-1"], ["AGGREGATE", "MAX"],
                      ["WEIGHTS", "0.5", "inf", "AGGREGATE", "MIN"]]),
            lambda: ["ZINTERSTORE", r.choice(["k1", "k2", "d"]), "2", any3(), any3()] +
            r.choice([[], ["AGGREGATE", "MAX"], ["WEIGHTS", "-1", "1"]]),
            lambda: ["ZDIFFSTORE", r.choice(["k1", "d"]), "2", any3(), any3()],
            lambda: ["ZUNION", "2", "k1", "k2", "WITHSCORES"],
            lambda: ["ZINTER", "3", "k1", "k2", "k3", "WITHSCORES"],
            lambda: ["ZDIFF", "2", "k2", "k1", "WITHSCORES"],
            lambda: ["ZINTERCARD", "2", "k1", "k2"],
            lambda: ["ZRANGESTORE", r.choice(["d", "k3"]), k, str(r.randrange(-5, 5)),
                     str(r.randrange(-5, 50))],
            lambda: ["ZRANGESTORE", "d", k, self.bound(), self.bound(), "BYSCORE"],
            lambda: ["ZMPOP", "2", "k9", k, r.choice(["MIN", "MAX"]), "COUNT",
                     str(r.randrange(1, 5))],
            lambda: ["OBJECT", "ENCODING", k],
            lambda: ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            lambda: ["CONFIG", "SET", "zset-max-listpack-entries", r.choice(["2", "16", "128"])],
            lambda: ["CONFIG", "SET", "zset-max-listpack-value", r.choice(["5", "11", "64"])],
            lambda: ["ZSCAN", k, "0", "COUNT", "1000"],
            lambda: ["ZRANDMEMBER", k, str(r.randrange(100, 400)), "WITHSCORES"],
        ])()


def call(client, cmd):
    try:
        return client.execute_command(*cmd)
    except redis.ResponseError as e:
        return "ERR " + str(e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--cairn", default=cairn_test.NODE)
    opt = ap.parse_args()
    cairn_test.NODE = opt.cairn
    gen = Gen(opt.seed)
    history, bad = [], 0
    with cairn_test.redis_server() as rs, cairn_test.cairn() as cs:
        a, b = rs.client(), cs.client()
        a.response_callbacks.clear()
        b.response_callbacks.clear()
        for i in range(opt.ops):
            cmd = gen.command()
            history.append(cmd)
            got = [call(a, cmd), call(b, cmd)]
            if cmd[0] == "ZSCAN" and all(isinstance(g, list) for g in got):
                got = [sorted(zip(g[1][::2], g[1][1::2])) for g in got]
            if (cmd[0] == "ZRANDMEMBER" and all(isinstance(g, list) for g in got)
                    and a.execute_command("ZCARD", cmd[1]) > int(cmd[2])):
                got = [len(g) for g in got]
            if got[0] != got[1]:
                bad += 1
                print("MISMATCH at command %d: %r\n  redis: %r\n  cairn: %r"
                      % (i, cmd, got[0], got[1]))
                for h in history[-200:-1]:
                    if cmd[1] in h or h[0] == "CONFIG":
                        print("    before: %r" % (h,))
                if bad >= 5:
                    break
        for k in ["k1", "k2", "k3", "kl", "d"]:
            got = [call(c, ["ZRANGE", k, "0", "-1", "WITHSCORES"]) for c in (a, b)]
            if got[0] != got[1]:
                bad += 1
                print("MISMATCH in the end state of %s" % k)
    print("seed %d: %d commands, %d mismatches" % (opt.seed, len(history), bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
