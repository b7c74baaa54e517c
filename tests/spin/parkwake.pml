/* parkwake.pml: the park/wake protocol of node/shard/xshard.c, under a weak
 * memory model.
 *
 * Goal: show that no wake is lost when both sides fence, and that removing
 * the fence loses one. Method: x86-TSO (the weakest ordering the protocol
 * must survive, and what the fences are for): every store of a thread sits
 * in that thread's store buffer until it drains to memory, at any moment or
 * at a fence; a thread's own loads see its buffered stores. The consumer
 * parks (stores parked, fences, loads dirty, sleeps unless dirty); the
 * producer pushes a message (stores dirty), fences, loads parked and wakes
 * the consumer if it saw it parked. The park timeout, the backstop in the
 * real code, is left out on purpose: the protocol alone must never leave the
 * consumer asleep with a message waiting. spin reports that as an invalid
 * end state (the consumer blocked forever).
 *
 * FENCE_P / FENCE_C select the fences (1 = present, as in xshard.c). */
#ifndef FENCE_P
#define FENCE_P 1
#endif
#ifndef FENCE_C
#define FENCE_C 1
#endif

bit dirty = 0;	/* memory: the consumer's dirty bit for this producer */
bit parked = 0;	/* memory: the consumer's parked flag */
bit woken = 0;	/* the wake (an eventfd write: a syscall, so ordered) */

/* Store buffers: at most one pending store each in this model. */
bit p_pending = 0;	/* producer's store dirty=1 not yet in memory */
bit c_pending = 0;	/* consumer's store parked=1 not yet in memory */

bit got_message = 0;

active proctype producer()
{
	/* Push the message and set the dirty bit: a buffered store. */
	p_pending = 1;
#if FENCE_P
	/* seq_cst fence: the store buffer drains before the next load. */
	atomic { if :: p_pending == 1 -> dirty = 1; p_pending = 0 :: else -> skip fi }
#endif
	/* Load parked (the producer never stores it, so memory decides). */
	if
	:: parked == 1 -> woken = 1
	:: else -> skip
	fi
}

active proctype consumer()
{
	bit saw_dirty;

	/* Park: a buffered store of the parked flag. */
	c_pending = 1;
#if FENCE_C
	atomic { if :: c_pending == 1 -> parked = 1; c_pending = 0 :: else -> skip fi }
#endif
	saw_dirty = dirty;
	if
	:: saw_dirty == 1 -> got_message = 1	/* work found: no sleep */
	:: else ->
		/* Sleep until woken. Its own stores drain meanwhile. */
		woken == 1;
		/* Woken: the message must be visible by now (the producer
		 * stored dirty before it loaded parked). */
		(dirty == 1 || p_pending == 1);
		got_message = 1
	fi
}

/* Store buffers drain to memory in their own time. */
active proctype drain()
{
end:	do
	:: atomic { p_pending == 1 -> dirty = 1; p_pending = 0 }
	:: atomic { c_pending == 1 -> parked = 1; c_pending = 0 }
	od
}
