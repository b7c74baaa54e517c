// Client-side caching with node-redis's own cache (RESP3, CLIENT TRACKING)
// against a server on 127.0.0.1:PORT (argv[2]).
// Goal: a second read of a key is a cache hit; a write by another client
// is seen by the next read; under writers racing the reads, the cache
// holds no stale value once they stop.
// Run by test_node_redis_cache.py, which starts the server.
const { createClient, BasicClientSideCache } = require('redis');
const assert = require('assert');
const port = Number(process.argv[2]);
const url = `redis://127.0.0.1:${port}`;
const KEYS = 200;
(async () => {
  const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
  const c = createClient({ url, RESP: 3, clientSideCache: cache });
  const w = createClient({ url });
  await c.connect(); await w.connect();
  const keys = Array.from({ length: KEYS }, (_, i) => `nr:${i}`);
  for (const k of keys) await w.set(k, 'v0');
  for (const k of keys) assert.strictEqual(await c.get(k), 'v0');
  const hits0 = cache.stats().hitCount;
  for (const k of keys) assert.strictEqual(await c.get(k), 'v0');
  assert.strictEqual(cache.stats().hitCount - hits0, KEYS, 'second reads are cache hits');
  for (const k of keys) await w.set(k, 'v1');
  await c.ping();
  for (const k of keys) assert.strictEqual(await c.get(k), 'v1', `fresh ${k}`);
  // Concurrent writers while the cached client reads.
  let stop = false, n = 0;
  const writers = [0, 1, 2].map(async (s) => {
    const ww = createClient({ url }); await ww.connect();
    while (!stop) { await ww.incr(keys[(n++ * 7 + s) % 64]); }
    await ww.quit();
  });
  const end = Date.now() + 2000;
  let reads = 0;
  while (Date.now() < end) { await c.get(keys[reads++ % 64]); }
  stop = true; await Promise.all(writers);
  await c.ping();
  for (const k of keys.slice(0, 64)) assert.strictEqual(await c.get(k), await w.get(k), `stale ${k}`);
  console.log(`ok: ${reads} reads, ${cache.stats().hitCount} hits`);
  await c.quit(); await w.quit();
})().catch((e) => { console.error(e); process.exit(1); });
