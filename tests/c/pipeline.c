/*
 * pipeline: pipelines N rpc.ping calls through libimgw's imgw_call_async on
 * one connection and checks that every answer arrives exactly once, as
 * "pong". Built and run by tests/integration/test_rpc_clients.py.
 *
 * usage: pipeline SOCKET [N]; prints one summary line, exits 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgw.h"

struct slot {
	int	 answers;	/* how many times the callback ran */
	int	 ok;		/* IMGW_OK with "pong" */
};

static int	 bad_rc, bad_result, total;

/* Count one answer for its slot. */
static void
pipeline_reply(int rc, const char *result_json, const char *code,
    const char *message, void *arg)
{
	struct slot	*s = arg;

	s->answers++;
	total++;
	if (rc != IMGW_OK) {
		if (bad_rc++ < 5)
			fprintf(stderr, "pipeline: answer rc %d: %s: %s\n", rc,
			    code ? code : "", message ? message : "");
		return;
	}
	if (result_json == NULL || strcmp(result_json, "\"pong\"") != 0) {
		if (bad_result++ < 5)
			fprintf(stderr, "pipeline: result %s\n",
			    result_json ? result_json : "(null)");
		return;
	}
	s->ok = 1;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct imgw	*c;
	struct slot	*slots;
	char		 err[256];
	long		 id, last = 0;
	int		 n = 10000, i, r, missing = 0, twice = 0;
	double		 t0, deadline;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: pipeline SOCKET [N]\n");
		return 2;
	}
	if (argc == 3)
		n = atoi(argv[2]);
	if (n <= 0 || (slots = calloc((size_t)n, sizeof *slots)) == NULL)
		return 2;
	if ((c = imgw_connect(argv[1], err, sizeof err)) == NULL) {
		fprintf(stderr, "pipeline: connect: %s\n", err);
		return 1;
	}

	t0 = now();
	for (i = 0; i < n; i++) {
		id = imgw_call_async(c, "rpc.ping", NULL, pipeline_reply, &slots[i]);
		if (id <= 0) {
			fprintf(stderr, "pipeline: imgw_call_async %d: %ld %s: %s\n",
			    i, id, imgw_error_code(c), imgw_error_message(c));
			return 1;
		}
		if (id == last) {
			fprintf(stderr, "pipeline: request %d reused id %ld\n", i, id);
			return 1;
		}
		last = id;
	}
	if (imgw_pending(c) > n) {
		fprintf(stderr, "pipeline: %d pending after %d calls\n",
		    imgw_pending(c), n);
		return 1;
	}

	deadline = now() + 60;
	while (imgw_pending(c) > 0 && now() < deadline) {
		if ((r = imgw_dispatch(c, 1000)) < 0) {
			fprintf(stderr, "pipeline: imgw_dispatch: %d %s: %s\n", r,
			    imgw_error_code(c), imgw_error_message(c));
			break;
		}
	}
	/* Anything that would come twice would be here by now. */
	imgw_dispatch(c, 200);

	for (i = 0; i < n; i++) {
		if (slots[i].answers == 0)
			missing++;
		else if (slots[i].answers > 1)
			twice++;
	}
	printf("pipeline: %d calls, %d answers, %d missing, %d answered more "
	    "than once, %d errors, %d wrong results, %d pending, %.2fs\n", n,
	    total, missing, twice, bad_rc, bad_result, imgw_pending(c),
	    now() - t0);
	imgw_close(c);
	free(slots);
	return missing || twice || bad_rc || bad_result ? 1 : 0;
}
