#!/usr/bin/python3
"""Atomic slot migration (Valkey 9's CLUSTER MIGRATESLOTS) between cairn-nodes.

Goal: MIGRATESLOTS moves slots that hold keys of every type from one node
to another while redis-py RedisCluster clients write and read them: no
acknowledged write is lost, no client ever sees ASK or TRYAGAIN (a raw
connection counts every redirect the source sends), the move ends with the
target owning the slots (one MOVED per client), and `redis-cli --cluster
check` is clean. Its errors are Valkey 9's words (its tests'
"General command interface"). A cancelled move and one whose target dies
leave the source with every key, serving them; the target deletes what it
imported. On the target, keys of a slot being imported are hidden from
KEYS, SCAN, DBSIZE, RANDOMKEY and GET until the switch. CLUSTER SYNCSLOTS
from a client is hostile input: refused, and nothing changes.

Method: three cairn-nodes made a cluster by `redis-cli --cluster create`
with test_cluster_reshard.py's helpers. A move held in the middle uses
CLIENT PAUSE WRITE on the target: its link's ESTABLISH (not a write) runs,
the RESTOREs wait. Exits 77 (skip) when redis-py is missing.
"""
import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402
import test_cluster_reshard as reshard  # noqa: E402  (exits 77 without redis-py)

import redis  # noqa: E402
from redis.cluster import RedisCluster  # noqa: E402

PATIENCE = 30.0
FAKE = "a" * 40


def jobs(port):
    """CLUSTER GETSLOTMIGRATIONS as a list of dicts (RESP2 maps are flat)."""
    out = []
    for m in redis.Redis(port=port).execute_command("CLUSTER", "GETSLOTMIGRATIONS"):
        d = {}
        for i in range(0, len(m), 2):
            v = m[i + 1]
            d[m[i].decode()] = v.decode() if isinstance(v, bytes) else v
        out.append(d)
    return out


def wait_state(port, states, timeout=PATIENCE):
    """The newest job of port once its state is one of states."""
    found = []

    def done():
        j = jobs(port)
        if j and j[0]["state"] in states:
            found[:] = [j[0]]
            return True
        return False
    assert cairn_test.wait_until(done, timeout), jobs(port)
    return found[0]


class Redirects:
    """A raw connection to one node that writes keys and counts each error
    it gets back by its first word (MOVED, ASK, TRYAGAIN, ...)."""

    def __init__(self, port, keys):
        self.port, self.keys = port, keys
        self.count, self.acked = {}, {}
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.run)
        self.th.start()

    def run(self):
        s = socket_to(self.port)
        r = cairn_test.RespReader(s)
        n, moved = 0, set()
        while not self.stop.is_set():
            live = [k for k in self.keys if k not in moved]
            if not live:
                break
            k = random.choice(live)
            n += 1
            v = "raw-%d" % n
            # Every other request writes two keys of one slot (a legacy
            # move answers those TRYAGAIN while it runs).
            pair = [k] if n % 2 else [k, "{%s}x" % k]
            s.sendall(cairn_test.encode("MSET", *[x for key in pair for x in (key, v)]))
            kind, text = r.read()
            if kind == b"-":
                word = text.split()[0].decode()
                self.count[word] = self.count.get(word, 0) + 1
                if word == "MOVED":
                    moved.add(k)
            else:
                for key in pair:
                    self.acked[key] = v
        s.close()

    def finish(self):
        self.stop.set()
        self.th.join(30)
        return self.count


def socket_to(port):
    import socket
    return socket.create_connection(("127.0.0.1", port), timeout=20)


class AtomicSlotMigration(unittest.TestCase):
    setUp = reshard.Reshard.setUp
    tearDown = reshard.Reshard.tearDown
    wait_ok = reshard.Reshard.wait_ok
    check = reshard.Reshard.check
    owner_slots = reshard.Reshard.owner_slots

    def r(self, i):
        return redis.Redis(port=self.ports[i])

    def nid(self, i):
        return reshard.myid(self.ports[i])

    def err(self, i, *args):
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            self.r(i).execute_command(*args)
        return str(e.exception)

    def fill(self, lo, hi, n, prefix):
        """n string keys in slots [lo, hi), and one of each other type
        (one with a TTL); returns the string keys."""
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        keys = reshard.keys_in_slots(lo, hi, n, prefix)
        for i in range(0, len(keys), 1000):
            p = rc.pipeline()
            for k in keys[i:i + 1000]:
                p.set(k, "0")
            p.execute()
        tag = "{%s}" % keys[0]
        rc.rpush(tag + "list", *range(200))
        rc.hset(tag + "hash", mapping={"f%d" % i: i for i in range(300)})
        rc.sadd(tag + "set", *range(100))
        rc.zadd(tag + "zset", {"m%d" % i: i for i in range(150)})
        rc.set(tag + "ttl", "v", ex=1000)
        self.tag = tag
        return keys

    def check_types(self, port):
        rc = RedisCluster(host="127.0.0.1", port=port)
        t = self.tag
        self.assertEqual(rc.lrange(t + "list", 0, -1), [str(i).encode() for i in range(200)])
        self.assertEqual(len(rc.hgetall(t + "hash")), 300)
        self.assertEqual(rc.scard(t + "set"), 100)
        self.assertEqual(rc.zscore(t + "zset", "m149"), 149.0)
        self.assertGreater(rc.ttl(t + "ttl"), 900)

    def test_errors_are_valkeys(self):
        me, other = self.nid(0), self.nid(1)
        cases = [
            (("CLUSTER", "MIGRATESLOTS"), "wrong number of arguments"),
            (("INVALID", 0, 1), "syntax error"),
            (("SLOTSRANGE",), "wrong number of arguments"),
            (("SLOTSRANGE", 0), "No end slot for final slot range"),
            (("SLOTSRANGE", 16385, 16388), "Invalid or out of range slot"),
            (("SLOTSRANGE", 16380, 16388), "Invalid or out of range slot"),
            (("SLOTSRANGE", "a", 0), "No slot ranges specified"),
            (("SLOTSRANGE", 0, "a"), "Invalid or out of range slot"),
            (("SLOTSRANGE", 1, 0), "Start slot number 1 is greater than end slot number 0."),
            (("SLOTSRANGE", 0, 16383), "Requested slots span multiple shards"),
            (("SLOTSRANGE", 0, 5, 3, 6), "Slot range 3-6 overlaps with previous range 0-5."),
            (("SLOTSRANGE", 3, 6, 0, 5), "Slot range 0-5 overlaps with previous range 3-6."),
            (("SLOTSRANGE", 0, 0), "syntax error"),
            (("SLOTSRANGE", 0, 0, "NODE"), "syntax error"),
            (("SLOTSRANGE", 0, 0, "NODE", "blah"), "Invalid node name: blah"),
            (("SLOTSRANGE", 0, 0, "NODE", FAKE), "Unknown node name: " + FAKE),
            (("SLOTSRANGE", 0, 0, "NODE", me), "Target node can not be this node."),
            (("SLOTSRANGE", 6000, 6001, "NODE", other), "Slots are not served by this node."),
            (("SLOTSRANGE", 1, 1, "NODE", other, "SLOTSRANGE", 0, 2, "NODE", self.nid(2)),
             "Slot ranges in migrations overlap"),
            (("SLOTSRANGE", 0, 0, 2, 2, "NODE", other, "SLOTSRANGE", 2, 2, "NODE", self.nid(2)),
             "Slot ranges in migrations overlap"),
        ]
        for args, want in cases:
            if args[0] != "CLUSTER":
                args = ("CLUSTER", "MIGRATESLOTS") + args
            got = self.err(0, *args)
            self.assertIn(want, got, args)
        self.assertEqual(self.err(0, "CLUSTER", "CANCELSLOTMIGRATIONS"), "No migrations ongoing")
        # The legacy states refuse it, node-wide.
        self.r(0).execute_command("CLUSTER", "SETSLOT", 0, "MIGRATING", other)
        self.r(1).execute_command("CLUSTER", "SETSLOT", 0, "IMPORTING", me)
        self.assertEqual(self.err(0, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 16383, 16383,
                                  "NODE", other), "Slots are being manually migrated")
        self.assertEqual(self.err(1, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 16383, 16383,
                                  "NODE", me), "Slots are being manually imported")
        self.r(0).execute_command("CLUSTER", "SETSLOT", 0, "STABLE")
        self.r(1).execute_command("CLUSTER", "SETSLOT", 0, "STABLE")
        self.r(0).execute_command("CLUSTER", "DELSLOTS", 0)
        self.assertEqual(self.err(0, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 0, "NODE",
                                  other), "Slot 0 has no node served.")
        self.r(0).execute_command("CLUSTER", "ADDSLOTS", 0)
        # Nothing started.
        for i in range(3):
            self.assertEqual(jobs(self.ports[i]), [])

    def test_syncslots_is_hostile_input(self):
        src = self.nid(0)
        before = self.r(1).execute_command("CLUSTER", "NODES")
        bad = [
            ("STEP",),
            ("ESTABLISH",),
            ("ESTABLISH", "SOURCE", src, "NAME", "x" * 40, "SLOTSRANGE", 0, 1),
            ("ESTABLISH", "SOURCE", FAKE, "NAME", "b" * 40, "SLOTSRANGE", 0, 1),
            ("ESTABLISH", "SOURCE", src, "NAME", "b" * 40, "SLOTSRANGE", 0, 16383),
            ("ESTABLISH", "SOURCE", src, "NAME", "b" * 40, "SLOTSRANGE", 6000, 6001),
            ("ESTABLISH", "SOURCE", src, "NAME", "b" * 40, "SLOTSRANGE", 0, 1, "junk"),
            ("ESTABLISH", "SOURCE", src, "NAME", "b" * 40, "SLOTSRANGE", 5, 1),
            ("FAILOVER-GRANTED", "NAME", "b" * 40, "KEYS", 0),
            ("FINISH", "NAME", "b" * 40),
            ("NOSUCH",),
        ]
        for args in bad:
            self.err(1, "CLUSTER", "SYNCSLOTS", *args)
        # Random words where its arguments go (never a valid SOURCE pair):
        # an error each time, the node alive, nothing started.
        rnd = random.Random(7)
        words = ["ESTABLISH", "SOURCE", "NAME", "SLOTSRANGE", "ACK", "FINISH",
                 "FAILOVER-GRANTED", "KEYS", "STEP", FAKE, "b" * 40, "0", "1", "-1", "16383",
                 "16384", "99999999999999999999", "", "\x00", "x" * 300, self.nid(1)]
        for _ in range(300):
            args = [rnd.choice(words) for _ in range(rnd.randrange(1, 12))]
            if "ACK" == args[0] and len(args) == 1:
                continue  # ACK answers +OK: it only keeps a link alive
            self.err(1, "CLUSTER", "SYNCSLOTS", *args)
        self.assertEqual(self.r(1).ping(), True)
        self.assertEqual(jobs(self.ports[1]), [])
        after = self.r(1).execute_command("CLUSTER", "NODES")
        strip = lambda t: sorted(" ".join(l.split()[:3] + l.split()[6:]) for l in t.splitlines())  # noqa: E731
        self.assertEqual(strip(before.decode()), strip(after.decode()))

    def test_target_hides_imported_keys(self):
        """The test plays the source on a raw link to node 1."""
        k = reshard.keys_in_slots(0, 10, 1, "h")[0]
        slot = cairn_test.key_slot(k)
        payload = redis.Redis(port=self.ports[0], decode_responses=False)
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        rc.set(k, "v")
        dump = payload.dump(k)
        s = socket_to(self.ports[1])
        rd = cairn_test.RespReader(s)
        name = "c" * 40
        s.sendall(cairn_test.encode("CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.nid(0),
                                    "NAME", name, "SLOTSRANGE", 0, 9))
        self.assertEqual(rd.read(), (b"+", b"OK"))
        s.sendall(cairn_test.encode("RESTORE", k, 0, dump, "REPLACE", "ABSTTL"))
        self.assertEqual(rd.read(), (b"+", b"OK"))
        # Another slot is not the link's to write.
        other = reshard.keys_in_slots(20, 30, 1, "o")[0]
        s.sendall(cairn_test.encode("SET", other, "x"))
        kind, text = rd.read()
        self.assertEqual((kind, text.split()[0]), (b"-", b"MOVED"))
        t = self.r(1)
        self.assertEqual(t.dbsize(), 0)
        self.assertEqual(t.keys("*"), [])
        self.assertEqual(t.scan(0, count=1000)[1], [])
        self.assertIsNone(t.randomkey())
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            t.get(k)
        self.assertTrue(str(e.exception).startswith("MOVED %d " % slot))
        j = jobs(self.ports[1])[0]
        self.assertEqual((j["operation"], j["state"], j["slot_ranges"], j["source_node"]),
                         ("IMPORT", "receiving-snapshot", "0-9", self.nid(0)))
        # A grant whose count of keys is wrong fails, and cleans up.
        s.sendall(cairn_test.encode("CLUSTER", "SYNCSLOTS", "FAILOVER-GRANTED", "NAME", name,
                                    "KEYS", 2))
        self.assertEqual(rd.read()[0], b"-")
        j = wait_state(self.ports[1], ("failed",))
        self.assertEqual(j["message"], "Imported keys lost before the failover")
        self.assertEqual(t.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        # A link that goes silent times out, and what it imported goes.
        s.sendall(cairn_test.encode("CLUSTER", "SYNCSLOTS", "ESTABLISH", "SOURCE", self.nid(0),
                                    "NAME", "d" * 40, "SLOTSRANGE", 0, 9))
        self.assertEqual(rd.read(), (b"+", b"OK"))
        s.sendall(cairn_test.encode("RESTORE", k, 0, dump, "REPLACE", "ABSTTL"))
        self.assertEqual(rd.read(), (b"+", b"OK"))
        # Hidden from clients, COUNTKEYSINSLOT and GETKEYSINSLOT too; the
        # link sees what it wrote.
        self.assertEqual(t.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        self.assertEqual(t.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10), [])
        s.sendall(cairn_test.encode("CLUSTER", "COUNTKEYSINSLOT", slot))
        self.assertEqual(rd.read(), 1)
        s.sendall(cairn_test.encode("CLUSTER", "GETKEYSINSLOT", slot, 10))
        self.assertEqual(rd.read(), [k.encode()])
        s.close()
        j = wait_state(self.ports[1], ("failed",), timeout=20)
        self.assertEqual(j["message"], "Timed out waiting for the source node")
        self.assertEqual(t.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        self.assertEqual(rc.get(k), b"v")  # the source never stopped serving it

    def test_move_under_load(self):
        keys = self.fill(0, 300, 20000, "k")
        moving = [k for k in keys
                  if cairn_test.key_slot(k) < 100 or 150 <= cairn_test.key_slot(k) < 200]
        acked, errors, stop, slowest = {}, [], threading.Event(), [0.0]
        ths = []
        for s in range(2):
            part = keys[s::2]

            def run(part=part, s=s):
                c = RedisCluster(host="127.0.0.1", port=self.ports[0])
                rnd, n = random.Random(s), 0
                while not stop.is_set():
                    k = rnd.choice(part)
                    n += 1
                    v = "%d-%d" % (s, n)
                    try:
                        t = time.time()
                        if c.set(k, v):
                            acked[k] = v
                        slowest.append(time.time() - t)
                        c.get(k)
                    except Exception as e:  # noqa: BLE001
                        errors.append(repr(e))
            ths.append(threading.Thread(target=run))
        for th in ths:
            th.start()
        raw = Redirects(self.ports[0], reshard.keys_in_slots(0, 100, 200, "raw"))
        time.sleep(0.3)
        before = self.owner_slots(self.ports[1])
        t0 = time.time()
        self.assertEqual(self.r(0).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0,
                                                   99, 150, 199, "NODE", self.nid(1)), b"OK")
        j = wait_state(self.ports[0], ("success", "failed", "cancelled"))
        took = time.time() - t0
        time.sleep(0.3)
        stop.set()
        for th in ths:
            th.join(30)
        counts = raw.finish()
        print("moved 150 slots (%d keys) in %.2f s; raw redirects %s; client errors %d; "
              "slowest write %.0f ms" % (len(moving), took, counts, len(errors),
                                         max(slowest) * 1000))
        self.assertEqual(j["state"], "success", j)
        self.assertEqual(j["slot_ranges"], "0-99 150-199")
        self.assertEqual(wait_state(self.ports[1], ("success",))["operation"], "IMPORT")
        self.assertEqual(errors, [])
        self.assertNotIn("ASK", counts)
        self.assertNotIn("TRYAGAIN", counts)
        self.assertEqual(set(counts) - {"MOVED"}, set())
        self.check()
        self.assertEqual(self.owner_slots(self.ports[1]), before + 150)
        rc = RedisCluster(host="127.0.0.1", port=self.ports[2])
        self.assertTrue(raw.acked)
        for k, v in list(acked.items()) + list(raw.acked.items()):
            self.assertEqual(rc.get(k), v.encode(), k)
        for k in keys:
            self.assertIsNotNone(rc.get(k), k)
        self.check_types(self.ports[2])
        # The source kept nothing of the slots; the target holds them.
        for slot in (0, 50, 150, 199):
            self.assertEqual(self.r(0).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        moved_keys = sum(self.r(1).execute_command("CLUSTER", "COUNTKEYSINSLOT", s)
                         for s in list(range(0, 100)) + list(range(150, 200)))
        tag_slot = cairn_test.key_slot(self.tag)
        extra = 5 if tag_slot < 100 or 150 <= tag_slot < 200 else 0
        self.assertEqual(moved_keys, len(moving) + len(raw.acked) + extra)
        self.assertTrue(any(k.endswith("}x") for k in raw.acked))
        # And on to the third node, from the new owner.
        self.assertEqual(self.r(1).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0,
                                                   99, "NODE", self.nid(2)), b"OK")
        self.assertEqual(wait_state(self.ports[1], ("success", "failed"))["state"], "success")
        self.check()
        for k, v in raw.acked.items():
            self.assertEqual(rc.get(k), v.encode(), k)
        for k in keys:
            self.assertIsNotNone(rc.get(k), k)
        self.check_types(self.ports[0])
        # The legacy path still works on the moved slots.
        r = reshard.cli("--cluster", "reshard", "127.0.0.1:%d" % self.ports[0],
                        "--cluster-from", self.nid(2), "--cluster-to", self.nid(0),
                        "--cluster-slots", "50", "--cluster-yes")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        self.check()
        for k in keys:
            self.assertIsNotNone(rc.get(k), k)

    def hold_target(self, n):
        """Starts a move of slots 0-99 with n keys that the target holds in
        the middle (CLIENT PAUSE WRITE: ESTABLISH runs, RESTOREs wait)."""
        keys = self.fill(0, 100, n, "c")
        self.r(1).execute_command("CLIENT", "PAUSE", 60000, "WRITE")
        self.assertEqual(self.r(0).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0,
                                                   99, "NODE", self.nid(1)), b"OK")
        wait_state(self.ports[1], ("receiving-snapshot",))
        wait_state(self.ports[0], ("snapshotting", "replicating"))
        return keys

    def source_serves(self, keys):
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        for k in keys:
            self.assertEqual(rc.get(k), b"0", k)
        for k in keys[:50]:
            self.assertTrue(rc.set(k, "after"))
            self.assertEqual(rc.get(k), b"after")
        self.check_types(self.ports[0])
        self.assertEqual(self.owner_slots(self.ports[0]), 5461)

    def test_link_authenticates(self):
        """A target with requirepass refuses the link until the source has
        masterauth (the link sends AUTH first, as Valkey's primaryauth)."""
        target = self.nid(1)
        keys = reshard.keys_in_slots(0, 10, 20, "auth")
        rc = RedisCluster(host="127.0.0.1", port=self.ports[0])
        for k in keys:
            rc.set(k, "v")
        self.r(1).config_set("requirepass", "s3cret")
        t = redis.Redis(port=self.ports[1], password="s3cret")
        try:
            self.assertEqual(self.r(0).execute_command(
                "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 9, "NODE", target), b"OK")
            j = wait_state(self.ports[0], ("failed", "success"))
            self.assertEqual(j["state"], "failed")
            self.assertIn("NOAUTH", j["message"])
            self.r(0).config_set("masterauth", "wrong")
            self.r(0).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 9,
                                      "NODE", target)
            j = wait_state(self.ports[0], ("failed", "success"))
            self.assertEqual(j["state"], "failed")
            self.assertIn("WRONGPASS", j["message"])
            self.r(0).config_set("masterauth", "s3cret")
            self.assertEqual(self.r(0).config_get("masterauth"), {"masterauth": "s3cret"})
            self.r(0).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, 9,
                                      "NODE", target)
            self.assertEqual(wait_state(self.ports[0], ("failed", "success"))["state"],
                             "success")
            for k in keys:
                self.assertEqual(t.get(k), b"v", k)
        finally:
            t.config_set("requirepass", "")
        with self.assertRaises(redis.exceptions.ResponseError) as e:
            self.r(0).get(keys[0])
        self.assertTrue(str(e.exception).endswith(":%d" % self.ports[1]), str(e.exception))
        self.check()

    def test_cancel(self):
        keys = self.hold_target(2000)
        self.assertEqual(self.r(0).execute_command("CLUSTER", "CANCELSLOTMIGRATIONS"), b"OK")
        j = jobs(self.ports[0])[0]
        self.assertEqual((j["state"], j["message"]), ("cancelled", "Cancelled by the user"))
        self.assertEqual(self.err(0, "CLUSTER", "CANCELSLOTMIGRATIONS"), "No migrations ongoing")
        self.r(1).execute_command("CLIENT", "UNPAUSE")
        j = wait_state(self.ports[1], ("failed",), timeout=20)
        self.assertIn(j["message"], ("Cancelled by the source node",
                                     "Timed out waiting for the source node"))
        for slot in range(100):
            self.assertEqual(self.r(1).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        self.source_serves(keys)
        self.check()

    def test_owner_change(self):
        keys = self.hold_target(1000)
        # A slot of the move leaves the source another way: the move fails.
        self.r(0).execute_command("CLUSTER", "DELSLOTS", 42)
        j = wait_state(self.ports[0], ("failed",), timeout=10)
        self.assertEqual(j["message"], "Slot ownership changed")
        self.r(0).execute_command("CLUSTER", "ADDSLOTS", 42)
        self.r(1).execute_command("CLIENT", "UNPAUSE")
        wait_state(self.ports[1], ("failed",), timeout=20)
        for slot in range(100):
            self.assertEqual(self.r(1).execute_command("CLUSTER", "COUNTKEYSINSLOT", slot), 0)
        self.source_serves(keys)

    def test_target_dies(self):
        # The dead node's slots go uncovered: the others keep serving.
        for i in (0, 2):
            self.r(i).config_set("cluster-require-full-coverage", "no")
        keys = self.hold_target(2000)
        self.srv[1].proc.send_signal(signal.SIGKILL)
        self.srv[1].proc.wait()
        self.srv[1]._checked = True  # killed: its exit code is not a failure
        j = wait_state(self.ports[0], ("failed",), timeout=20)
        self.assertTrue(j["message"], j)
        self.source_serves(keys)
        # Another move, to the live node, goes through after the failure.
        self.assertEqual(self.r(0).execute_command("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0,
                                                   99, "NODE", self.nid(2)), b"OK")
        self.assertEqual(wait_state(self.ports[0], ("success", "failed"))["state"], "success")
        rc = RedisCluster(host="127.0.0.1", port=self.ports[2])
        for k in keys[50:]:
            self.assertEqual(rc.get(k), b"0", k)


if __name__ == "__main__":
    unittest.main()
