/*
 * test_outq: a client's output queue (daemon/outq.c): own bytes and shared
 * wires come out in the order queued, through a real socket that takes
 * only part of a write; every wire reference is let go once written or
 * dropped; outq_keep cuts the queue at a byte count, inside a wire or
 * inside own bytes, and what is written afterwards is exactly that prefix.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "unit.h"

/* A non-blocking socket pair with a small send buffer: [0] ours, [1] the peer's. */
static void
pair(int sv[2])
{
	int	 small = 4096;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
}

/* Append n bytes of c to the queue's own buffer and queue them. */
static void
own(struct outq *q, int c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		buf_add(&q->own, &(char){ (char)c }, 1);
	outq_own(q, n);
}

/* A wire of n bytes of c. */
static struct wire *
wire_of(int c, size_t n)
{
	char		*p = malloc(n);
	struct wire	*w;

	memset(p, c, n);
	w = wire_new(p, 1, p + 1, n - 1);
	free(p);
	return w;
}

/* Write the queue out, reading the peer's end as it goes, into got. */
static void
drain(struct outq *q, int sv[2], struct buf *got)
{
	ssize_t	 n;
	int	 spins = 0;

	while (q->left > 0 && spins++ < 100000) {
		n = outq_write(q, sv[0]);
		CHECKM(n > 0 || (n == -1 && errno == EAGAIN),
		    "writev failed: %s", strerror(errno));
		buf_reserve(got, 65536);
		n = read(sv[1], got->data + got->len, got->cap - got->len);
		if (n > 0)
			got->len += (size_t)n;
	}
	while (buf_reserve(got, 65536) == 0 &&
	    (n = read(sv[1], got->data + got->len, got->cap - got->len)) > 0)
		got->len += (size_t)n;
	CHECK_INT(q->left, 0);
}

/* What the queue below must write: a run of each piece's byte. */
static int
expect_runs(const struct buf *got, const char *bytes, const size_t *lens)
{
	size_t	 i, k, o = 0;

	for (i = 0; bytes[i] != '\0'; i++)
		for (k = 0; k < lens[i]; k++, o++)
			if (o >= got->len || got->data[o] != bytes[i])
				return 0;
	return o == got->len;
}

/* A queue, the socket it writes to and what came out of it. */
struct fix {
	struct outq	 q;
	struct buf	 got;
	int		 sv[2];
};

static void
fix_open(struct fix *f)
{
	pair(f->sv);
	outq_init(&f->q);
	buf_init(&f->got);
}

static void
fix_close(struct fix *f)
{
	outq_clear(&f->q);
	buf_clear(&f->got);
	close(f->sv[0]);
	close(f->sv[1]);
}

static void
outq_writes_own_and_wires_in_order_through_partial_writes(void)
{
	static const size_t	 lens[] = { 10, 30000, 7, 5, 20000, 3 };
	struct fix		 f;
	struct wire		*a = wire_of('A', 30000), *b = wire_of('B', 20000);

	fix_open(&f);
	own(&f.q, 'x', 10);
	outq_wire(&f.q, a);
	own(&f.q, 'y', 7);
	own(&f.q, 'z', 5);
	outq_wire(&f.q, b);
	own(&f.q, 'w', 3);
	CHECK_INT(f.q.left, 10 + 30000 + 7 + 5 + 20000 + 3);
	CHECK_INT(f.q.n, 5);		/* y and z share a segment */
	CHECK_INT(a->refs, 2);
	drain(&f.q, f.sv, &f.got);
	CHECKM(expect_runs(&f.got, "xAyzBw", lens), "stream out of order "
	    "(%zu bytes)", f.got.len);
	CHECK_INT(a->refs, 1);
	CHECK_INT(b->refs, 1);
	CHECK_INT(f.q.n, 0);
	wire_unref(a);
	wire_unref(b);
	fix_close(&f);
}

static void
outq_keep_cuts_inside_a_wire(void)
{
	static const size_t	 lens[] = { 10, 25 };
	struct fix		 f;
	struct wire		*a = wire_of('A', 100);

	fix_open(&f);
	own(&f.q, 'x', 10);
	outq_wire(&f.q, a);
	own(&f.q, 'y', 5);
	outq_keep(&f.q, 35);
	CHECK_INT(f.q.left, 35);
	CHECK_INT(buf_left(&f.q.own), 10);
	CHECK_INT(a->refs, 2);		/* still queued, in part */
	drain(&f.q, f.sv, &f.got);
	CHECKM(expect_runs(&f.got, "xA", lens), "not the 35-byte prefix "
	    "(%zu bytes)", f.got.len);
	CHECK_INT(a->refs, 1);
	wire_unref(a);
	fix_close(&f);
}

static void
outq_keep_cuts_inside_own_bytes_and_drops_later_wires(void)
{
	static const size_t	 lens[] = { 4 };
	struct fix		 f;
	struct wire		*a = wire_of('A', 100);

	fix_open(&f);
	own(&f.q, 'x', 10);
	outq_wire(&f.q, a);
	outq_wire(&f.q, a);
	CHECK_INT(a->refs, 3);
	outq_keep(&f.q, 4);
	CHECK_INT(a->refs, 1);
	CHECK_INT(f.q.n, 1);
	drain(&f.q, f.sv, &f.got);
	CHECKM(expect_runs(&f.got, "x", lens), "not the 4-byte prefix (%zu "
	    "bytes)", f.got.len);
	/* Nothing kept at all, then new bytes: only those are written. */
	outq_wire(&f.q, a);
	outq_keep(&f.q, 0);
	CHECK_INT(f.q.left, 0);
	CHECK_INT(a->refs, 1);
	own(&f.q, 'n', 2);
	buf_reset(&f.got);
	drain(&f.q, f.sv, &f.got);
	CHECK_MEM(f.got.data, f.got.len, "nn", 2);
	wire_unref(a);
	fix_close(&f);
}

static void
outq_clear_lets_go_of_every_wire(void)
{
	struct outq	 q;
	struct wire	*a = wire_of('A', 10);
	int		 i;

	outq_init(&q);
	for (i = 0; i < 100; i++) {	/* past the first ring of segments */
		outq_wire(&q, a);
		own(&q, 'x', 1);
	}
	CHECK_INT(a->refs, 101);
	CHECK_INT(q.left, 100 * 11);
	outq_clear(&q);
	CHECK_INT(a->refs, 1);
	CHECK_INT(q.left, 0);
	wire_unref(a);
}

static const struct unit_test tests[] = {
	UNIT_TEST(outq_writes_own_and_wires_in_order_through_partial_writes),
	UNIT_TEST(outq_keep_cuts_inside_a_wire),
	UNIT_TEST(outq_keep_cuts_inside_own_bytes_and_drops_later_wires),
	UNIT_TEST(outq_clear_lets_go_of_every_wire),
};

UNIT_MAIN(tests)
