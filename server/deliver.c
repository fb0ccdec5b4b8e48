/*
 * deliver: when a pushed chat message counts as delivered (UPSTREAM.md
 * "Decisions of the reference server"): once its frame has been written to
 * the socket, not when queued. Keeps each session's pushes that are still
 * unwritten, by where they end in its output stream, and records the
 * written ones in sstore once per loop turn. Knows no frames, no STOMP.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "log.h"
#include "server.h"

/* A message pushed to a session: delivered once its stream passed end. */
struct deliver_push {
	TAILQ_ENTRY(deliver_push)	 entry;
	unsigned long long		 end;	/* out_queued after its frames */
	long long			 seq;
	char				 id[ID_MAX + 1];
};

static struct ev_loop		*deliver_loop;
static struct ev_prepare	 deliver_turn;
static struct sdelivery		*deliver_done;	/* written, to record */
static size_t			 deliver_ndone;
static size_t			 deliver_cap;

/* The loop is about to wait: record what this turn wrote. */
static void
deliver_prepare(struct ev_loop *loop, struct ev_prepare *w, int revents)
{
	deliver_flush();
}

/* Record written pushes once per turn of loop. */
void
deliver_open(struct ev_loop *loop)
{
	deliver_loop = loop;
	ev_prepare_init(&deliver_turn, deliver_prepare);
	ev_prepare_start(loop, &deliver_turn);
}

/* Record what is left and stop; call after ws_close. */
void
deliver_close(void)
{
	deliver_flush();
	if (deliver_loop != NULL)
		ev_prepare_stop(deliver_loop, &deliver_turn);
	deliver_loop = NULL;
	free(deliver_done);
	deliver_done = NULL;
	deliver_cap = 0;
}

/* Give a new session an empty list of unwritten pushes. */
void
deliver_init(struct session *s)
{
	TAILQ_INIT(&s->unwritten);
}

/* Forget a session's unwritten pushes: they stay undelivered. */
void
deliver_clear(struct session *s)
{
	struct deliver_push	*p;

	while ((p = TAILQ_FIRST(&s->unwritten)) != NULL) {
		TAILQ_REMOVE(&s->unwritten, p, entry);
		free(p);
	}
}

/*
 * Message id at seq has just been queued on s for the session's user, who
 * has a delivery row for it (id NULL: no row, nothing to do). It counts as
 * delivered once written; out of memory it never does, and a later seed
 * sync pushes it again.
 */
void
deliver_push(struct session *s, const char *id, long long seq)
{
	struct deliver_push	*p;

	if (id == NULL)
		return;
	if ((p = calloc(1, sizeof *p)) == NULL) {
		log_warn("session %llu: out of memory to follow %s", s->id, id);
		return;
	}
	p->end = s->out_queued;
	p->seq = seq;
	snprintf(p->id, sizeof p->id, "%s", id);
	TAILQ_INSERT_TAIL(&s->unwritten, p, entry);
}

/* Whether message id at seq is queued on s and not yet written. */
int
deliver_queued(const struct session *s, const char *id, long long seq)
{
	struct deliver_push	*p;

	TAILQ_FOREACH(p, &s->unwritten, entry) {
		if (p->seq == seq && strcmp(p->id, id) == 0)
			return 1;
	}
	return 0;
}

/* Make room for one more written push. Returns 0, or -1 out of memory. */
static int
deliver_grow(void)
{
	struct sdelivery	*v;
	size_t			 cap;

	if (deliver_ndone < deliver_cap)
		return 0;
	cap = deliver_cap == 0 ? 64 : deliver_cap * 2;
	if ((v = reallocarray(deliver_done, cap, sizeof *v)) == NULL)
		return -1;
	deliver_done = v;
	deliver_cap = cap;
	return 0;
}

/*
 * s's output stream has reached the kernel up to s->out_written: its pushes
 * that end there or before are delivered, recorded at the end of the turn.
 */
void
deliver_written(struct session *s)
{
	struct deliver_push	*p;
	struct sdelivery	*d;

	while ((p = TAILQ_FIRST(&s->unwritten)) != NULL &&
	    p->end <= s->out_written) {
		TAILQ_REMOVE(&s->unwritten, p, entry);
		if (deliver_grow() == -1) {
			log_warn("session %llu: out of memory to record %s",
			    s->id, p->id);
			free(p);
			continue;
		}
		d = &deliver_done[deliver_ndone++];
		snprintf(d->app, sizeof d->app, "%s", s->app);
		snprintf(d->user, sizeof d->user, "%s", s->user);
		snprintf(d->msg_id, sizeof d->msg_id, "%s", p->id);
		d->seq = p->seq;
		free(p);
	}
}

/*
 * Record the pushes written since the last call as delivered, in one
 * transaction. Whatever reads the delivery state calls this first.
 */
void
deliver_flush(void)
{
	if (deliver_ndone == 0)
		return;
	if (sstore_msg_mark_delivered(deliver_done, deliver_ndone) == -1)
		log_warn("cannot record %zu deliveries (a seed sync pushes them "
		    "again)", deliver_ndone);
	deliver_ndone = 0;
}
