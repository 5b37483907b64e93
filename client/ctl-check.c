/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl check: what the kernel offers pidrestored, as the daemon
 * sees it (its privileges, its namespaces), or as this process sees it when
 * no daemon answers or with --local (DESIGN §9, §12). Both answers are the
 * same protocol reply, so they print alike. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ctl.h"
#include "pidrestore-raw.h"
#include "probe.h"
#include "wire.h"

#define WRAP_WIDTH 80

struct check_source {
	bool from_daemon;
	char why_local[256];     /* when the probe ran here: why */
};

/* The path libpidrestore connects to, for messages. */
static const char *socket_path_of(const struct options *o)
{
	const char *path = o->socket_path;

	if (!path)
		path = secure_getenv(PIDRESTORE_SOCKET_ENV);
	if (!path || !path[0])
		path = PIDRESTORE_DEFAULT_SOCKET;
	return path;
}

static const char *state_of(const pidrestore_kernel_feature *f)
{
	if (f->available)
		return "yes";
	return f->detail && probe_detail_is_unknown(f->detail) ? "unknown" : "no";
}

static bool all_required_available(const pidrestore_kernel_check *reply)
{
	for (size_t i = 0; i < reply->n_features; i++)
		if (reply->features[i]->required && !reply->features[i]->available)
			return false;
	return true;
}

/* Asks the daemon; 1 when it answered, 0 when the probe must run here
 * (src says why), or a negative errno after a reported failure. */
static int ask_daemon(const struct options *o, pidrestore **c, pidrestore_kernel_check **ret, struct check_source *src)
{
	const char *path = socket_path_of(o);
	int r;

	r = pidrestore_connect(o->socket_path, c);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		snprintf(src->why_local, sizeof(src->why_local), "no daemon at %s", path);
		return 0;
	}
	if (r < 0) {
		snprintf(src->why_local, sizeof(src->why_local), "cannot reach the daemon at %s: %s", path, strerror(-r));
		return 0;
	}
	r = pidrestore_check_kernel(*c, ret);
	if (r == -EOPNOTSUPP) {
		snprintf(src->why_local, sizeof(src->why_local), "the daemon at %s is older and cannot check", path);
		return 0;
	}
	if (r < 0) {
		report_failure("check", *c, r);
		return r;
	}
	src->from_daemon = true;
	return 1;
}

/* prefix and text, wrapped at WRAP_WIDTH; continuation lines are indented
 * by indent. */
static void print_wrapped(const char *prefix, const char *text, int indent)
{
	int col = printf("%s", prefix);

	while (*text) {
		int word = (int)strcspn(text, " ");

		if (col > indent && col + 1 + word > WRAP_WIDTH) {
			printf("\n%*s", indent, "");
			col = indent;
		} else {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", word, text);
		text += word;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static void print_table(const struct options *o, const pidrestore_kernel_check *reply, const struct check_source *src)
{
	int name_width = (int)strlen("FEATURE"), state_width = (int)strlen("AVAILABLE");

	for (size_t i = 0; i < reply->n_features; i++) {
		int w = (int)strlen(reply->features[i]->name);

		if (w > name_width)
			name_width = w;
	}
	if (!o->no_legend) {
		printf("   Kernel: %s\n", reply->kernel ? reply->kernel : "unknown");
		if (src->from_daemon)
			printf("Probed by: pidrestored (pid %d)\n", (int)reply->probed_by_pid);
		else
			printf("Probed by: this process (%s)\n", src->why_local);
		printf("\n%-*s %-*s %s\n", name_width, "FEATURE", state_width, "AVAILABLE", "DETAIL");
	}
	for (size_t i = 0; i < reply->n_features; i++) {
		const pidrestore_kernel_feature *f = reply->features[i];

		printf("%-*s %-*s %s\n", name_width, f->name, state_width, state_of(f), f->detail ? f->detail : "");
	}
	if (o->no_legend)
		return;
	for (size_t i = 0; i < reply->n_features; i++) {
		const pidrestore_kernel_feature *f = reply->features[i];
		char prefix[128];

		if (f->available || !f->without)
			continue;
		snprintf(prefix, sizeof(prefix), "Without %s:", f->name);
		printf("\n");
		print_wrapped(prefix, f->without, 2);
	}
	if (!all_required_available(reply))
		printf("\npidrestored cannot work here: a feature it requires is missing.\n");
}

static void print_json(const struct options *o, const pidrestore_kernel_check *reply, const struct check_source *src)
{
	struct json j;

	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "kernel");
	json_string(&j, reply->kernel ? reply->kernel : "");
	json_key(&j, "probed_by");
	json_string(&j, src->from_daemon ? "pidrestored" : "local");
	json_key(&j, "probed_by_pid");
	json_uint(&j, (uint64_t)reply->probed_by_pid);
	json_key(&j, "local_reason");
	if (src->from_daemon)
		json_null(&j);
	else
		json_string(&j, src->why_local);
	json_key(&j, "usable");
	json_bool(&j, all_required_available(reply));
	json_key(&j, "features");
	json_array_begin(&j);
	for (size_t i = 0; i < reply->n_features; i++) {
		const pidrestore_kernel_feature *f = reply->features[i];

		json_object_begin(&j);
		json_key(&j, "name");
		json_string(&j, f->name);
		json_key(&j, "available");
		json_bool(&j, f->available);
		json_key(&j, "state");
		json_string(&j, state_of(f));
		json_key(&j, "required");
		json_bool(&j, f->required);
		json_key(&j, "detail");
		json_string(&j, f->detail ? f->detail : "");
		json_key(&j, "without");
		json_string(&j, f->without ? f->without : "");
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

int verb_check(const struct options *o, char **args, size_t n_args)
{
	struct check_source src = { .from_daemon = false };
	pidrestore_kernel_check *reply = NULL;
	Pidrestore__CheckReply local;
	pidrestore *c = NULL;
	int status = EXIT_FAILURE, r = 0;

	if (n_args > 0)
		return usage_error("check takes no arguments; e.g. pidrestorectl check --local");
	if (o->local)
		snprintf(src.why_local, sizeof(src.why_local), "--local");
	else
		r = ask_daemon(o, &c, &reply, &src);
	if (r < 0)
		goto out;
	if (!src.from_daemon) {
		check_reply_build(&local);
		r = pidrestore_raw_kernel_check(&local, &reply);
		if (r < 0) {
			fprintf(stderr, "pidrestorectl: check failed (%s): %s\n", strerrorname_np(-r), strerror(-r));
			goto out;
		}
	}
	/* -q: the exit status is the answer. */
	if (o->quiet)
		;
	else if (o->json)
		print_json(o, reply, &src);
	else
		print_table(o, reply, &src);
	status = all_required_available(reply) ? EXIT_SUCCESS : EXIT_FAILURE;
	if (fflush(stdout) != 0)
		status = EXIT_FAILURE;
out:
	free(reply);
	pidrestore_disconnect(c);
	return status;
}
