"""Bit commands against a real node, through redis-py's API.

Goal: what a feature-flag or presence bitmap workload does works with an
unchanged client: SETBIT and GETBIT over a wide bitmap, BITCOUNT in bytes
and bits, BITPOS, BITOP across keys that land on different shards, and
redis-py's BITFIELD builder with its overflow modes; the last bit the
default proto-max-bulk-len allows (2^32 - 1) works and the next is refused.

Method: each test starts its own cairn-node (the variant's backend and shard
count) and checks replies against values computed in Python.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn_test  # noqa: E402


class TestBitmaps(unittest.TestCase):
    def test_flags(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            users = [3, 17, 1000, 65535, 100000]
            p = r.pipeline(transaction=False)
            for u in users:
                p.setbit("active", u, 1)
            self.assertEqual(p.execute(), [0] * len(users))
            self.assertEqual([r.getbit("active", u) for u in users], [1] * len(users))
            self.assertEqual(r.getbit("active", 4), 0)
            self.assertEqual(r.bitcount("active"), len(users))
            self.assertEqual(r.bitcount("active", 0, 2), 2)
            self.assertEqual(r.bitcount("active", 0, 1000, "BIT"), 3)
            self.assertEqual(r.bitpos("active", 1), 3)
            self.assertEqual(r.bitpos("active", 1, 3), 1000)
            self.assertEqual(r.strlen("active"), 100000 // 8 + 1)

    def test_bitop_across_shards(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            for k, bits in (("{a}x", [1, 5, 9]), ("{b}y", [5, 9, 12]), ("{c}z", [9])):
                for b in bits:
                    r.setbit(k, b, 1)
            self.assertEqual(r.bitop("AND", "{d}out", "{a}x", "{b}y", "{c}z"), 2)
            self.assertEqual([r.getbit("{d}out", b) for b in range(16)],
                             [1 if b == 9 else 0 for b in range(16)])
            self.assertEqual(r.bitop("OR", "{d}out", "{a}x", "{b}y"), 2)
            self.assertEqual(r.bitcount("{d}out"), 4)

    def test_bitfield(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            bf = r.bitfield("counters")
            bf.set("u8", "#0", 250).incrby("u8", "#0", 10)
            bf.overflow("SAT").incrby("u8", "#1", 300)
            bf.overflow("FAIL").incrby("i8", "#2", 200)
            self.assertEqual(bf.execute(), [0, 4, 255, None])
            self.assertEqual(r.execute_command("BITFIELD_RO", "counters", "GET", "u8", 0,
                                               "GET", "u8", 8), [4, 255])

    def test_offset_limit(self):
        with cairn_test.cairn() as srv:
            r = srv.client()
            self.assertEqual(r.setbit("edge", 2 ** 32 - 1, 1), 0)
            self.assertEqual(r.getbit("edge", 2 ** 32 - 1), 1)
            self.assertEqual(r.strlen("edge"), 2 ** 29)
            with self.assertRaises(Exception) as ctx:
                r.setbit("edge", 2 ** 32, 1)
            self.assertIn("bit offset is not an integer or out of range", str(ctx.exception))
            r.delete("edge")


if __name__ == "__main__":
    unittest.main()
