/*
 * idlist: a growable list of owned id strings, for recipients of events and
 * the userIds of requests. Knows nothing of what the ids name.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Start an empty list. */
void
idlist_init(struct idlist *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

/* Free every id and the list's array; the list is empty after. */
void
idlist_clear(struct idlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	idlist_init(l);
}

/* Append a copy of id. Returns 0, or -1 if memory ran out. */
int
idlist_push(struct idlist *l, const char *id)
{
	char	**v, *copy;
	size_t	  cap;

	if (l->n == l->cap) {
		cap = l->cap == 0 ? 16 : l->cap * 2;
		if ((v = reallocarray(l->v, cap, sizeof *v)) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if ((copy = strdup(id)) == NULL)
		return -1;
	l->v[l->n++] = copy;
	return 0;
}

/* Whether the list holds id. */
int
idlist_has(const struct idlist *l, const char *id)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], id) == 0)
			return 1;
	}
	return 0;
}

/* Append a copy of id unless the list holds it. Returns 0, or -1. */
int
idlist_add(struct idlist *l, const char *id)
{
	if (idlist_has(l, id))
		return 0;
	return idlist_push(l, id);
}
