/* storedb: imgwd's database through imgwd's own store_open (storedb.c). */
#ifndef IMGW_BENCH_STOREDB_H
#define IMGW_BENCH_STOREDB_H

#include <sqlite3.h>

struct store;

/* Open (creating) path with store_open; its SQLite connection. Exits on error. */
sqlite3	*storedb_open(const char *path, struct store **);

#endif
