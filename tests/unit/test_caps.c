/*
 * test_caps: what the server offers, read from CONNECTED's im-extensions
 * header or forced by --server-profile, and which /app destinations that
 * serves. Linked with daemon/caps.c and the log only.
 */
#include <jansson.h>

#include "daemon.h"
#include "log.h"
#include "unit.h"

struct config	 cfg;

/* Reset to a fresh start: no profile forced, nothing known. */
static void
fresh(const char *profile, const char *saved)
{
	cfg.server_profile = profile;
	caps_init(NULL);
	caps_connected("");	/* the only way to clear: a seed-only answer */
	caps_init(saved);
}

static void
caps_seed_server_serves_only_the_seed(void)
{
	fresh(NULL, NULL);
	caps_connected(NULL);
	CHECK_STR(caps_profile(), "seed");
	CHECKM(caps_known(), "a CONNECTED makes it known");
	CHECKM(caps_serves("/app/chat.send"), "chat.send");
	CHECKM(caps_serves("/app/chat.revoke"), "chat.revoke");
	CHECKM(caps_serves("/app/chat.sync"), "chat.sync");
	CHECKM(!caps_serves("/app/group.create"), "group.create served");
	CHECKM(!caps_serves("/app/chat.edit"), "chat.edit served");
	CHECK_STR(caps_missing("/app/group.create"), "group");
	CHECK_STR(caps_missing("/app/friend.group.add"), "friend");
	CHECK_STR(caps_missing("/app/chat.history"), "chat.history");
	CHECK_STR(caps_missing("/app/chat.send"), "");
	CHECKM(!caps_has("replies"), "replies");
}

static void
caps_header_lists_extensions(void)
{
	json_t	*l;

	fresh(NULL, NULL);
	CHECK_STR(caps_connected(" replies, events,group ,chat.edit"),
	    "replies,events,group,chat.edit");
	CHECK_STR(caps_profile(), "extended");
	CHECKM(caps_serves("/app/group.kick"), "group.kick");
	CHECKM(caps_serves("/app/chat.edit"), "chat.edit");
	CHECKM(!caps_serves("/app/chat.read"), "chat.read not listed");
	CHECKM(!caps_serves("/app/friend.list"), "friend not listed");
	l = caps_list();
	CHECK_INT(json_array_size(l), 4);
	CHECK_STR(json_string_value(json_array_get(l, 3)), "chat.edit");
	json_decref(l);
}

/*
 * First in the table: a new process knows nothing until a CONNECTED (or the
 * list the last one left in the cache), and refuses nothing meanwhile.
 */
static void
caps_unknown_until_connected_or_saved(void)
{
	log_open("test_caps", LOG_ERROR);	/* caps logs each profile */
	CHECKM(!caps_known(), "known before any CONNECTED");
	CHECK_STR(caps_profile(), "unknown");
	CHECKM(caps_serves("/app/group.create"), "unknown refuses group.create");
	caps_init("replies,seq");
	CHECK_STR(caps_profile(), "extended");
	CHECKM(caps_has("seq"), "the saved list is used");
}

static void
caps_forced_profile_wins(void)
{
	fresh("seed", NULL);
	caps_connected("replies,events,group");
	CHECK_STR(caps_profile(), "seed");
	CHECKM(!caps_serves("/app/group.create"), "forced seed serves groups");
	fresh("extended", NULL);
	caps_connected(NULL);
	CHECK_STR(caps_profile(), "extended");
	CHECKM(caps_serves("/app/friend.request"), "forced extended: friend");
	CHECKM(caps_serves("/app/chat.history"), "forced extended: history");
	cfg.server_profile = NULL;
}

static void
caps_bounds_names_and_count(void)
{
	char	 big[4096];
	size_t	 i;
	json_t	*l;

	fresh(NULL, NULL);
	/* 40 names, one of them too long to keep: at most 32 kept, none cut. */
	big[0] = '\0';
	for (i = 0; i < 40; i++)
		snprintf(big + strlen(big), sizeof big - strlen(big), "%sx%zu",
		    i ? "," : "", i);
	strcat(big, ",aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	caps_connected(big);
	l = caps_list();
	CHECK_INT(json_array_size(l), 32);
	CHECK_STR(json_string_value(json_array_get(l, 31)), "x31");
	json_decref(l);
	caps_connected(",,, ,");
	CHECK_STR(caps_profile(), "seed");
}

static const struct unit_test tests[] = {
	UNIT_TEST(caps_unknown_until_connected_or_saved),
	UNIT_TEST(caps_seed_server_serves_only_the_seed),
	UNIT_TEST(caps_header_lists_extensions),
	UNIT_TEST(caps_forced_profile_wins),
	UNIT_TEST(caps_bounds_names_and_count),
};

UNIT_MAIN(tests)
