/* fuzz_hll.c: fuzz target for the HyperLogLog code (node/data/hll.c).
 *
 * Goal: any string a client can SET and then hand to PFADD, PFCOUNT or
 * PFMERGE is read safely: never a byte outside it, whatever its sparse
 * opcodes claim, and a corrupt sparse form is reported as corrupt by every
 * reader alike (counting, merging, converting to dense, updating). On a
 * well-formed HyperLogLog the readers agree with one another: the
 * registers a merge reads from the sparse form are those of its dense
 * conversion, and both count the same. Updates are right: a sequence of
 * sparse updates (with promotion to dense when the sparse form is full)
 * leaves the registers a plain array of maxima says.
 *
 * Method: byte 0 picks the mode. Raw mode (bit 0 clear): the rest of the
 * input is the string, placed by fuzz_exact so that reading one byte past
 * it faults; each reader runs on it, and if it is a well-formed sparse
 * HyperLogLog, the cross-checks above run, then one update from the input's
 * last bytes is applied to a copy and checked against the registers before.
 * Build mode (bit 0 set): starting from an empty HyperLogLog, each 3 input
 * bytes are a register (14 bits) and a count (6 bits), applied with
 * hll_sparse_set (or hll_dense_set after a promotion, under a sparse limit
 * from byte 0), each result checked against the model array.
 *
 * Input: byte 0 the mode, then the string (raw) or the updates (build). */
#include <stdlib.h>
#include <string.h>

#include "data/hll.h"
#include "fuzz_util.h"

#define FH_ROOM (HLL_DENSE_SIZE + 64)

static const size_t fh_sparse_max[4] = { 3000, 16, 200, HLL_DENSE_SIZE };

static void fh_registers(const unsigned char *p, size_t len, uint8_t *regs, bool *ok)
{
	memset(regs, 0, HLL_REGISTERS);
	*ok = hll_merge(regs, p, len);
}

/* The cross-checks of a well-formed sparse HyperLogLog p. */
static void fh_agree(const unsigned char *p, size_t len, const uint8_t *regs)
{
	static unsigned char dense[HLL_DENSE_SIZE + 1];
	static uint8_t dregs[HLL_REGISTERS];
	bool invalid = false, ok;

	FUZZ_CHECK(hll_to_dense(p, len, dense), "merge read it, conversion refused it");
	fh_registers(dense, HLL_DENSE_SIZE, dregs, &ok);
	FUZZ_CHECK(ok, "a dense merge never fails");
	FUZZ_CHECK(memcmp(regs, dregs, HLL_REGISTERS) == 0, "sparse and dense registers differ");
	uint64_t c = hll_count(p, len, &invalid);
	FUZZ_CHECK(!invalid, "merge read it, count refused it");
	FUZZ_CHECK(c == hll_count(dense, HLL_DENSE_SIZE, &invalid), "sparse and dense counts");
	FUZZ_CHECK(c == hll_count_raw(regs), "count differs from the raw registers' count");
}

/* One update of a copy of the well-formed sparse p, against regs. */
static void fh_update(const unsigned char *p, size_t len, const uint8_t *regs, long index,
		      uint8_t count)
{
	static unsigned char buf[FH_ROOM];
	static uint8_t after[HLL_REGISTERS];
	size_t n = len;
	bool ok;

	if (len + HLL_SPARSE_GROW_MAX > sizeof(buf))
		return;
	memcpy(buf, p, len);
	int r = hll_sparse_set(buf, &n, HLL_DENSE_SIZE, index, count);
	FUZZ_CHECK(r >= 0, "a well-formed sparse form was called corrupt");
	if (r == 2)
		return;
	fh_registers(buf, n, after, &ok);
	FUZZ_CHECK(ok, "an update left a corrupt sparse form");
	for (long i = 0; i < HLL_REGISTERS; i++) {
		uint8_t want = i == index && count > regs[i] ? count : regs[i];
		FUZZ_CHECK(after[i] == want, "register %ld is %u, want %u", i, after[i], want);
	}
	FUZZ_CHECK((r == 1) == (count > regs[index]), "changed flag %d", r);
}

static void fh_raw(struct fuzz_in *in)
{
	static struct fuzz_exact x;
	static bool init;
	static uint8_t regs[HLL_REGISTERS];
	const uint8_t *b;
	size_t n = fuzz_bytes(in, FH_ROOM, &b);
	bool invalid = false, ok;

	if (!init) {
		fuzz_exact_init(&x);
		init = true;
	}
	const unsigned char *p = (const unsigned char *)fuzz_exact_put(&x, (const char *)b, n);
	if (!hll_valid_header(p, n))
		return;
	(void)hll_count(p, n, &invalid);
	fh_registers(p, n, regs, &ok);
	FUZZ_CHECK(ok == !invalid, "merge and count disagree on corruption");
	if (hll_encoding(p) != HLL_SPARSE || !ok)
		return;
	fh_agree(p, n, regs);
	uint32_t u = n >= 3 ? (uint32_t)b[n - 3] | (uint32_t)b[n - 2] << 8 |
				      (uint32_t)b[n - 1] << 16
			    : 0;
	fh_update(p, n, regs, (long)(u % HLL_REGISTERS), (uint8_t)(1 + (u >> 14) % 63));
}

static void fh_build(struct fuzz_in *in, size_t sparse_max)
{
	static unsigned char buf[FH_ROOM];
	static uint8_t model[HLL_REGISTERS], regs[HLL_REGISTERS];
	size_t len = HLL_EMPTY_SIZE;
	bool dense = false, ok;

	memset(model, 0, sizeof(model));
	hll_empty(buf);
	while (!fuzz_in_empty(in)) {
		uint32_t u = fuzz_u8(in) | (uint32_t)fuzz_u8(in) << 8 | (uint32_t)fuzz_u8(in) << 16;
		long index = (long)(u % HLL_REGISTERS);
		uint8_t count = (uint8_t)(1 + (u >> 14) % 63);
		int r = dense ? hll_dense_set(buf + HLL_HDR_SIZE, index, count)
			      : hll_sparse_set(buf, &len, sparse_max, index, count);
		FUZZ_CHECK(r >= 0, "a built HyperLogLog was called corrupt");
		if (r == 2) {
			static unsigned char d[HLL_DENSE_SIZE + 1];
			FUZZ_CHECK(hll_to_dense(buf, len, d), "promotion failed");
			memcpy(buf, d, HLL_DENSE_SIZE);
			len = HLL_DENSE_SIZE;
			dense = true;
			r = hll_dense_set(buf + HLL_HDR_SIZE, index, count);
		}
		FUZZ_CHECK((r == 1) == (count > model[index]), "changed flag %d", r);
		model[index] = count > model[index] ? count : model[index];
	}
	fh_registers(buf, len, regs, &ok);
	FUZZ_CHECK(ok, "a built HyperLogLog reads as corrupt");
	FUZZ_CHECK(memcmp(regs, model, HLL_REGISTERS) == 0, "registers differ from the model");
	if (!dense)
		fh_agree(buf, len, regs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;

	fuzz_in_init(&in, data, size);
	uint8_t mode = fuzz_u8(&in);
	if (mode & 1)
		fh_build(&in, fh_sparse_max[(mode >> 1) & 3]);
	else
		fh_raw(&in);
	return 0;
}
