/*
 * state: what the whole daemon shares: the loop, the store, the
 * configuration and our own user id. A leaf: it calls only the store and
 * conv.c, so any file may use it without making a loop.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "store.h"

struct ev_loop	*loop;
struct store	*store;
struct config	 cfg;
char		*self_id;

/*
 * Record our own user id, learnt from configuration or the server. Returns
 * 0, or -1 if another id is already known: the cache belongs to one user,
 * and the server's word does not change whose it is (UPSTREAM.md).
 */
int
state_set_self(const char *id)
{
	if (id == NULL || !conv_valid_id(id) ||
	    (self_id != NULL && strcmp(self_id, id) == 0))
		return 0;
	if (self_id != NULL)
		return -1;
	if ((self_id = strdup(id)) == NULL)
		fatalx("out of memory");
	if (store_set_self(store, id) == -1 ||
	    store_set_kv(store, "self", id) == -1)
		log_warn("%s", store_error(store));
	return 0;
}

/* Leave the event loop (shutdown finishes in main). */
void
state_stop(void)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Milliseconds since the epoch, by the wall clock (message times). */
int64_t
state_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
