/*
 * m_db: db.* handlers, the cache's maintenance: statistics, compaction and
 * an integrity check. The work itself is the store's.
 */
#include <stdlib.h>

#include "daemon.h"
#include "rpc.h"
#include "store.h"

/* db.stats {}: row counts, the oldest message, the file's size. */
int
m_db_stats(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	if ((*result = store_stats(store)) == NULL)
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
	else
		json_object_set_new(*result, "path", json_string(cfg.db_path));
	return 0;
}

/* db.vacuum {}: rebuild the file, returning free pages to the system. */
int
m_db_vacuum(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	if (store_vacuum(store) == -1)
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
	else if ((*result = store_stats(store)) == NULL)
		*error = rpc_error_new(RPC_E_INTERNAL, "%s", store_error(store));
	else
		json_object_set_new(*result, "path", json_string(cfg.db_path));
	return 0;
}

/* db.check {}: {ok: true} or {ok: false, problem}. */
int
m_db_check(struct client *c, uint32_t msgid, json_t *args, json_t **result,
    json_t **error)
{
	char	*bad = store_check(store);

	*result = bad == NULL ? json_pack("{s:b}", "ok", 1) :
	    json_pack("{s:b,s:s}", "ok", 0, "problem", bad);
	free(bad);
	return 0;
}

static const struct method rows[] = {
	METHOD("db.stats", m_db_stats, "", "cache statistics"),
	METHOD("db.vacuum", m_db_vacuum, "", "compact the cache"),
	METHOD("db.check", m_db_check, "", "check the cache's integrity"),
};
const struct method_rows db_methods = METHOD_ROWS(rows);
