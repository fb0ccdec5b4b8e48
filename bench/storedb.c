/*
 * storedb: the daemon's own database, opened through the daemon's own code,
 * for the benchmark tools that fill it directly (gen_cache, sqlite_ref
 * schema). store_open() creates the schema, applies its migrations and
 * registers the SQL functions its triggers call (imgw_grams); the tools then
 * write through that same SQLite connection, so whatever db/ becomes, the
 * tables, indexes and triggers filled are exactly imgwd's.
 *
 * The connection is caught on its way out of sqlite3_open_v2 (the tools are
 * linked with -Wl,--wrap=sqlite3_open_v2): store.h has no accessor for it,
 * and none is wanted there for a benchmark.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store.h"
#include "storedb.h"

static sqlite3	*caught;

int	 __real_sqlite3_open_v2(const char *, sqlite3 **, int, const char *);
int	 __wrap_sqlite3_open_v2(const char *, sqlite3 **, int, const char *);

int
__wrap_sqlite3_open_v2(const char *path, sqlite3 **db, int flags,
    const char *vfs)
{
	int	 rc = __real_sqlite3_open_v2(path, db, flags, vfs);

	if (rc == SQLITE_OK && caught == NULL)
		caught = *db;
	return rc;
}

sqlite3 *
storedb_open(const char *path, struct store **sp)
{
	char	*cause = NULL;

	caught = NULL;
	if ((*sp = store_open(path, &cause)) == NULL) {
		fprintf(stderr, "storedb: %s: %s\n", path, cause ? cause : "?");
		exit(1);
	}
	if (caught == NULL) {
		fprintf(stderr, "storedb: store_open did not open %s through "
		    "sqlite3_open_v2\n", path);
		exit(1);
	}
	return caught;
}
