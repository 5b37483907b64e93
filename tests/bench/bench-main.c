/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestore-bench: runs every row, then prints three Markdown tables:
 * latency and throughput (with ratios to baselines measured in the same
 * run), memory, and the project's targets with the figures that meet or
 * miss them. Progress goes to stderr. See tests/bench/RESULTS.md. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ROWS 48
#define MAX_MEM 16
#define MAX_LEVELS 3
#define CONC_COUNTS 4
#define HOLD_CHUNK 1000
#define SPARE_PIDS 1000

static const size_t conc_clients[CONC_COUNTS] = { 1, 2, 8, 32 };
#define CONC_PIDS_PER_CLIENT 2

struct options {
	struct bench_paths paths;
	size_t reps;
	size_t iterations;       /* per repetition, rows without exec */
	size_t exec_iterations;  /* per repetition, rows that exec */
	uint64_t duration_ns;    /* per repetition, concurrency rows */
	size_t levels[MAX_LEVELS];
	size_t n_levels;
	size_t batch;
	int cpu;
	pid_t pid_lo, pid_hi;
	unsigned int groups;     /* GROUP_* to run */
};

enum {
	GROUP_FLOORS = 1u << 0,       /* the rows against the floors, pinned and unpinned */
	GROUP_RACE = 1u << 1,         /* ns_last_pid against a concurrent forker */
	GROUP_CONCURRENCY = 1u << 2,
	GROUP_SCALE = 1u << 3,
	GROUP_BATCH = 1u << 4,
	GROUP_COLD = 1u << 5,
	GROUP_ALL = (1u << 6) - 1,
};

static const char *const group_names[] = { "floors", "race", "concurrency", "scale", "batch", "cold", NULL };

/* ------------------------------------------------------------ rows */

struct row {
	char name[96];
	const char *cpu;
	size_t n;
	struct rep rep[BENCH_MAX_REPS];
	double ratio[BENCH_MAX_REPS];
	const char *ratio_to;       /* the baseline's name, or NULL */
	double extra[BENCH_MAX_REPS];
	const char *extra_before;   /* the note: these words, the figure, */
	const char *extra_after;    /* and these */
	int extra_decimals;
};

struct mem_item {
	char name[96];
	size_t n;
	double kib[BENCH_MAX_REPS];
};

static struct row rows[MAX_ROWS];
static size_t n_rows;
static struct mem_item mems[MAX_MEM];
static size_t n_mems;

static struct row *row_new(const char *cpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct row *row_new(const char *cpu, const char *fmt, ...)
{
	struct row *r;
	va_list ap;

	if (n_rows == MAX_ROWS) {
		fprintf(stderr, "pidrestore-bench: more than %d rows\n", MAX_ROWS);
		exit(1);
	}
	r = &rows[n_rows++];
	memset(r, 0, sizeof(*r));
	va_start(ap, fmt);
	vsnprintf(r->name, sizeof(r->name), fmt, ap);
	va_end(ap);
	r->cpu = cpu;
	for (size_t i = 0; i < BENCH_MAX_REPS; i++)
		r->ratio[i] = r->extra[i] = NAN;
	return r;
}

static struct mem_item *mem_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct mem_item *mem_new(const char *fmt, ...)
{
	struct mem_item *m;
	va_list ap;

	if (n_mems == MAX_MEM) {
		fprintf(stderr, "pidrestore-bench: more than %d memory figures\n", MAX_MEM);
		exit(1);
	}
	m = &mems[n_mems++];
	memset(m, 0, sizeof(*m));
	va_start(ap, fmt);
	vsnprintf(m->name, sizeof(m->name), fmt, ap);
	va_end(ap);
	return m;
}

static void mem_add(struct mem_item *m, long kib)
{
	if (m->n < BENCH_MAX_REPS)
		m->kib[m->n++] = kib < 0 ? NAN : (double)kib;
}

static struct rep *rep_next(struct row *r)
{
	return &r->rep[r->n < BENCH_MAX_REPS ? r->n++ : BENCH_MAX_REPS - 1];
}

static double rep_p50(const struct row *r, size_t i)
{
	return i < r->n ? r->rep[i].p50_us : NAN;
}

/* The ratio of each repetition's p50 to the same repetition of base. */
static void row_ratio(struct row *r, const struct row *base)
{
	r->ratio_to = base->name;
	for (size_t i = 0; i < r->n; i++)
		r->ratio[i] = rep_p50(r, i) / rep_p50(base, i);
}

static struct figure row_figure(const struct row *r, size_t field)
{
	double v[BENCH_MAX_REPS];

	for (size_t i = 0; i < r->n; i++)
		v[i] = field == 0 ? r->rep[i].p50_us : field == 1 ? r->rep[i].p99_us : field == 2 ? r->rep[i].per_sec
			: field == 3 ? r->ratio[i] : r->extra[i];
	return figure_of(v, r->n);
}

static void print_figure(const struct figure *f, int decimals)
{
	if (!f->valid)
		printf(" - |");
	else
		printf(" %.*f (%.*f-%.*f) |", decimals, f->median, decimals, f->min, decimals, f->max);
}

/* ------------------------------------------------------------ steps */

static int fail(const char *what, int r)
{
	fprintf(stderr, "pidrestore-bench: %s: %s\n", what, strerror(-r));
	return r;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pidrestore-bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int floor_rep(struct row *row, const pid_t *pids, size_t n_pids, char *const *argv, char *const *envp,
		     size_t iterations, struct samples *s)
{
	uint64_t start = bench_now_ns();

	samples_reset(s);
	for (size_t i = 0; i < iterations; i++) {
		uint64_t t0 = bench_now_ns();
		int r = floor_clone(pids[i % n_pids], argv, envp);

		if (r < 0)
			return fail(r == -EEXIST ? "clone3: a benchmark PID was taken by another process; run again" : "clone3", r);
		samples_add(s, bench_now_ns() - t0);
	}
	rep_from_samples(rep_next(row), s, iterations, bench_now_ns() - start);
	return 0;
}

static int minimal_rep(struct row *row, struct minimal_server *ms, const pid_t *pids, size_t n_pids,
		       size_t iterations, struct samples *s)
{
	uint64_t start = bench_now_ns();

	samples_reset(s);
	for (size_t i = 0; i < iterations; i++) {
		uint64_t t0 = bench_now_ns();
		int r = minimal_server_cycle(ms, pids[i % n_pids]);

		if (r < 0)
			return fail(r == -EEXIST ? "the minimal server: a benchmark PID was taken by another process; run again"
						 : "the minimal server", r);
		samples_add(s, bench_now_ns() - t0);
	}
	rep_from_samples(rep_next(row), s, iterations, bench_now_ns() - start);
	return 0;
}

static int reserve_rep(struct row *row, pidrestore *c, const pid_t *pids, size_t n_pids, size_t iterations,
		       struct samples *s)
{
	uint64_t wall;
	int r;

	samples_reset(s);
	r = client_reserve_cycle(c, pids, n_pids, iterations, s, &wall);
	if (r < 0)
		return r;
	rep_from_samples(rep_next(row), s, iterations, wall);
	return 0;
}

static int spawn_rep(struct row *row, pidrestore *c, const pid_t *pids, size_t n_pids, char *const *argv,
		     char *const *envp, size_t iterations, struct samples *s)
{
	uint64_t wall;
	int r;

	samples_reset(s);
	r = client_spawn_cycle(c, pids, n_pids, argv, envp, iterations, s, &wall);
	if (r < 0)
		return r;
	rep_from_samples(rep_next(row), s, iterations, wall);
	return 0;
}

static int nslp_rep(struct row *row, bool noisy, size_t iterations, struct samples *s)
{
	uint64_t wall = 0;
	size_t wrong = 0;
	int r;

	samples_reset(s);
	r = ns_last_pid_run(iterations, noisy, s, &wall, &wrong);
	if (r < 0)
		return fail("the ns_last_pid method", r);
	row->extra[row->n] = 100.0 * (double)wrong / (double)iterations;
	rep_from_samples(rep_next(row), s, iterations, wall);
	return 0;
}

static int hello_rep(struct row *row, const struct bench_daemon *d, size_t iterations, struct samples *s)
{
	uint64_t start = bench_now_ns();

	samples_reset(s);
	for (size_t i = 0; i < iterations; i++) {
		uint64_t t0 = bench_now_ns();
		pidrestore *c;
		int r = client_connect(d, &c);

		if (r < 0)
			return r;
		pidrestore_disconnect(c);
		samples_add(s, bench_now_ns() - t0);
	}
	rep_from_samples(rep_next(row), s, iterations, bench_now_ns() - start);
	return 0;
}

static int pin_both(const struct bench_daemon *d, int cpu)
{
	int r = cpu_pin(0, cpu);

	if (r == 0)
		r = cpu_pin_family(d->pid, cpu);
	return r < 0 ? fail("sched_setaffinity", r) : 0;
}

/* The rows against the in-process floors, interleaved repetition by
 * repetition so that drift of the machine hits floor and daemon alike. */
static int run_ratio_rows(const struct options *o, const struct bench_daemon *d, int cpu, const pid_t *pids,
			  const pid_t *exec_pids, struct samples *s)
{
	static char *const exec_argv[] = { (char *)"/bin/true", NULL };
	static char *const exec_envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	const char *where = cpu >= 0 ? "pinned" : "unpinned";
	struct row *floor, *minimal, *daemon, *floor_exec, *spawn, *nslp, *hello;
	struct minimal_server ms = { .pid = -1 };
	struct row warm = { 0 };
	pidrestore *c;
	int r;

	r = pin_both(d, cpu);
	if (r < 0)
		return r;
	r = client_connect(d, &c);
	if (r < 0)
		return r;
	/* Forked after the pinning: it runs where the daemon does. */
	r = minimal_server_start(&ms);
	if (r < 0) {
		pidrestore_disconnect(c);
		return fail("starting the minimal server", r);
	}
	floor = row_new(where, "floor: clone3(set_tid, CLONE_PIDFD), _exit, reap");
	minimal = row_new(where, "minimal server: reserve 1 PID, get pidfd, release");
	daemon = row_new(where, "daemon: reserve 1 PID, get pidfd, release");
	floor_exec = row_new(where, "floor: clone3(set_tid), execve /bin/true, reap");
	spawn = row_new(where, "daemon: spawn /bin/true, wait for exit event");
	nslp = row_new(where, "ns_last_pid: write, fork, reap (no other forker)");
	nslp->extra_before = "wrong PID ";
	nslp->extra_after = "%";
	nslp->extra_decimals = 1;
	hello = row_new(where, "daemon: connect + Hello (running daemon)");

	progress("%s: warming up", where);
	if ((r = floor_rep(&warm, pids, 4, NULL, NULL, o->iterations / 4 + 1, s)) < 0 ||
	    (r = minimal_rep(&warm, &ms, pids, 4, o->iterations / 4 + 1, s)) < 0 ||
	    (r = reserve_rep(&warm, c, pids, 4, o->iterations / 4 + 1, s)) < 0 ||
	    (r = spawn_rep(&warm, c, exec_pids, 4, exec_argv, exec_envp, o->exec_iterations / 4 + 1, s)) < 0)
		goto out;
	for (size_t rep = 0; rep < o->reps; rep++) {
		progress("%s: repetition %zu of %zu", where, rep + 1, o->reps);
		if ((r = floor_rep(floor, pids, 4, NULL, NULL, o->iterations, s)) < 0 ||
		    (r = minimal_rep(minimal, &ms, pids, 4, o->iterations, s)) < 0 ||
		    (r = reserve_rep(daemon, c, pids, 4, o->iterations, s)) < 0 ||
		    (r = floor_rep(floor_exec, exec_pids, 4, exec_argv, exec_envp, o->exec_iterations, s)) < 0 ||
		    (r = spawn_rep(spawn, c, exec_pids, 4, exec_argv, exec_envp, o->exec_iterations, s)) < 0 ||
		    (r = nslp_rep(nslp, false, o->iterations, s)) < 0 ||
		    (r = hello_rep(hello, d, o->iterations / 4 + 1, s)) < 0)
			goto out;
	}
	row_ratio(minimal, floor);
	row_ratio(daemon, floor);
	row_ratio(spawn, floor_exec);
	row_ratio(nslp, floor);
out:
	minimal_server_stop(&ms);
	pidrestore_disconnect(c);
	return r;
}

static int run_ns_last_pid_race(const struct options *o, struct samples *s)
{
	struct row *race = row_new("unpinned", "ns_last_pid: write, fork, reap (1 other forker)");
	int r = cpu_pin(0, -1);

	race->extra_before = "wrong PID ";
	race->extra_after = "%";
	race->extra_decimals = 1;
	progress("ns_last_pid against a concurrent forker");
	for (size_t rep = 0; r == 0 && rep < o->reps; rep++)
		r = nslp_rep(race, true, o->iterations, s);
	return r;
}

static int run_concurrency(const struct options *o, const struct bench_daemon *d, const pid_t *pids)
{
	int r = pin_both(d, -1);

	for (size_t k = 0; r == 0 && k < CONC_COUNTS; k++) {
		struct row *row = row_new("unpinned", "daemon: %zu client%s in parallel, reserve+release", conc_clients[k],
					  conc_clients[k] == 1 ? "" : "s");

		row->extra_before = "slowest client ";
		row->extra_after = " of the mean";
		row->extra_decimals = 2;
		progress("%zu clients", conc_clients[k]);
		for (size_t rep = 0; r == 0 && rep < o->reps; rep++) {
			struct concurrency_result res;

			r = client_concurrency(d, conc_clients[k], pids, CONC_PIDS_PER_CLIENT, o->duration_ns, &res);
			if (r == 0) {
				row->extra[row->n] = res.fairness;
				*rep_next(row) = res.rep;
			}
		}
	}
	return r;
}

/* Latency of one more reservation while another connection holds many. */
static int run_scale(const struct options *o, const struct bench_daemon *d, const pid_t *pids,
		     const pid_t *held_pids, struct samples *s)
{
	struct row *base = NULL;
	pidrestore *holder = NULL, *c = NULL;
	size_t held = 0;
	int r;

	r = pin_both(d, o->cpu);
	if (r == 0)
		r = client_connect(d, &holder);
	if (r == 0)
		r = client_connect(d, &c);
	for (size_t l = 0; r == 0 && l < o->n_levels; l++) {
		size_t level = o->levels[l];
		struct row *row = row_new("pinned", "daemon: reserve+release, %zu outstanding", level);
		struct mem_item *rss = mem_new("daemon RSS, %zu reservations outstanding", level);
		struct mem_item *pss = level > 0 ? mem_new("placeholder Pss (smaps_rollup), %zu outstanding", level) : NULL;

		progress("%zu reservations outstanding", level);
		if (level > held) {
			r = client_hold(holder, held_pids + held, level - held, HOLD_CHUNK);
			if (r < 0)
				break;
			held = level;
		}
		for (size_t rep = 0; r == 0 && rep < o->reps; rep++) {
			r = reserve_rep(row, c, pids, 4, o->iterations, s);
			mem_add(rss, proc_rss_kib(d->pid));
			if (pss)
				mem_add(pss, proc_pss_kib(held_pids[rep * (held / o->reps)]));
		}
		if (!base)
			base = row;
		row_ratio(row, base);
	}
	if (holder && held > 0) {
		int released = client_release_all(holder);

		if (r == 0 && released >= 0 && (size_t)released != held)
			r = fail("releasing the held reservations", -ESRCH);
	}
	pidrestore_disconnect(holder);
	pidrestore_disconnect(c);
	return r;
}

static int run_batch(const struct options *o, const struct bench_daemon *d, const pid_t *pids)
{
	struct row *singles = row_new("pinned", "daemon: reserve %zu PIDs in %zu requests (per PID)", o->batch, o->batch);
	struct row *batch = row_new("pinned", "daemon: reserve %zu PIDs in 1 request (per PID)", o->batch);
	pidrestore *c;
	int r = pin_both(d, o->cpu);

	if (r == 0)
		r = client_connect(d, &c);
	if (r < 0)
		return r;
	progress("batches of %zu", o->batch);
	for (size_t rep = 0; r == 0 && rep < o->reps; rep++) {
		uint64_t ns_singles = 0, ns_batch = 0;

		r = client_reserve_batch(c, pids, o->batch, false, &ns_singles);
		if (r == 0)
			r = client_reserve_batch(c, pids, o->batch, true, &ns_batch);
		if (r == 0) {
			struct rep *a = rep_next(singles), *b = rep_next(batch);

			/* One figure per repetition: the mean per PID. */
			a->p50_us = (double)ns_singles / 1000.0 / (double)o->batch;
			a->p99_us = NAN;
			a->per_sec = (double)o->batch * 1e9 / (double)ns_singles;
			b->p50_us = (double)ns_batch / 1000.0 / (double)o->batch;
			b->p99_us = NAN;
			b->per_sec = (double)o->batch * 1e9 / (double)ns_batch;
		}
	}
	row_ratio(batch, singles);
	pidrestore_disconnect(c);
	return r;
}

static int run_cold_start(const struct options *o)
{
	struct row *row = row_new("unpinned", "cold start: systemd-socket-activate to first reply");
	int r = cpu_pin(0, -1);

	progress("cold starts");
	for (size_t rep = 0; r == 0 && rep < o->reps; rep++) {
		uint64_t ns;
		struct rep *x;

		r = cold_start_once(&o->paths, &ns);
		if (r == -ENOENT) {
			snprintf(row->name, sizeof(row->name), "cold start: not measured, systemd-socket-activate is not installed");
			return 0;
		}
		if (r < 0)
			return fail("cold start", r);
		x = rep_next(row);
		x->p50_us = x->p99_us = (double)ns / 1000.0;
		x->per_sec = NAN;
	}
	return 0;
}

/* ------------------------------------------------------------ output */

static void print_machine(const struct options *o)
{
	char model[256] = "unknown", line[1024];
	bool hypervisor = false;
	long mem_kib = 0;
	struct utsname u;
	time_t now = time(NULL);
	FILE *f;

	uname(&u);
	if ((f = fopen("/proc/cpuinfo", "re"))) {
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10) == 0 && strchr(line, ':'))
				snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor"))
				hypervisor = true;
		}
		fclose(f);
	}
	model[strcspn(model, "\n")] = '\0';
	if ((f = fopen("/proc/meminfo", "re"))) {
		if (fscanf(f, "MemTotal: %ld kB", &mem_kib) != 1)
			mem_kib = 0;
		fclose(f);
	}
	printf("# pidrestore-bench %s\n\n", PACKAGE_VERSION);
	printf("machine: Linux %s %s, %d CPUs (%s%s), %ld MiB; pid_max %d; %s", u.release, u.machine,
	       cpu_count(), model, hypervisor ? ", virtual machine" : "", mem_kib / 1024, (int)pid_max_read(),
	       ctime(&now));
	printf("method: each figure is the median of %zu repetitions, with the smallest and largest in\n"
	       "parentheses; per repetition %zu operations (%zu for rows that exec, %.0f ms per client count);\n"
	       "ratios compare each repetition with the same repetition of the baseline; \"pinned\" rows run\n"
	       "client, daemon and children on CPU %d\n\n",
	       o->reps, o->iterations, o->exec_iterations, (double)o->duration_ns / 1e6, o->cpu);
}

static void print_rows(void)
{
	printf("| row | cpu | p50 us | p99 us | per second | ratio | baseline | note |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		struct figure p50 = row_figure(r, 0), p99 = row_figure(r, 1), rate = row_figure(r, 2);
		struct figure ratio = row_figure(r, 3), extra = row_figure(r, 4);

		printf("| %s | %s |", r->name, r->cpu);
		print_figure(&p50, 1);
		print_figure(&p99, 1);
		print_figure(&rate, 0);
		print_figure(&ratio, 2);
		printf(" %s |", r->ratio_to ? r->ratio_to : "-");
		if (r->extra_before && extra.valid)
			printf(" %s%.*f (%.*f-%.*f)%s |\n", r->extra_before, r->extra_decimals, extra.median,
			       r->extra_decimals, extra.min, r->extra_decimals, extra.max, r->extra_after);
		else
			printf(" |\n");
	}
	printf("\n");
}

static void print_mems(void)
{
	printf("| memory | KiB |\n|---|---|\n");
	for (size_t i = 0; i < n_mems; i++) {
		struct figure f = figure_of(mems[i].kib, mems[i].n);

		printf("| %s |", mems[i].name);
		print_figure(&f, 0);
		printf("\n");
	}
	printf("\n");
}

static const struct row *row_find(const char *cpu, const char *prefix)
{
	for (size_t i = 0; i < n_rows; i++)
		if (strcmp(rows[i].cpu, cpu) == 0 && strncmp(rows[i].name, prefix, strlen(prefix)) == 0)
			return &rows[i];
	return NULL;
}

static const struct mem_item *mem_find(const char *prefix)
{
	for (size_t i = 0; i < n_mems; i++)
		if (strncmp(mems[i].name, prefix, strlen(prefix)) == 0)
			return &mems[i];
	return NULL;
}

static void print_target(const char *what, double value, const char *unit, int decimals, bool at_most, double limit)
{
	bool met = !isnan(value) && (at_most ? value <= limit : value >= limit);

	printf("| %s | %.*f%s | %s %.*f%s | %s |\n", what, decimals, value, unit, at_most ? "<=" : ">=", decimals, limit,
	       unit, isnan(value) ? "not measured" : met ? "met" : "missed");
}

static void print_targets(const struct options *o)
{
	const struct row *r;
	const struct mem_item *m;
	char name[128];

	printf("| target | measured | wanted | verdict |\n|---|---|---|---|\n");
	r = row_find("pinned", "daemon: reserve 1 PID");
	print_target("reserve round trip p50 / in-process clone3 floor (pinned)", r ? row_figure(r, 3).median : NAN, "x",
		     2, true, 1.10);
	r = row_find("pinned", "daemon: spawn /bin/true");
	print_target("spawn+exec p50 / clone3+execve floor (pinned)", r ? row_figure(r, 3).median : NAN, "x", 2, true, 1.05);
	r = row_find("unpinned", "daemon: 8 clients");
	print_target("8 clients: reservations per second in total", r ? row_figure(r, 2).median : NAN, "", 0, false, 15000);
	print_target("8 clients: the slowest client's share of the mean", r ? row_figure(r, 4).median : NAN, "", 2, false,
		     0.80);
	snprintf(name, sizeof(name), "daemon: reserve+release, %zu outstanding", o->levels[o->n_levels - 1]);
	r = row_find("pinned", name);
	snprintf(name, sizeof(name), "latency p50 at %zu outstanding / at %zu", o->levels[o->n_levels - 1], o->levels[0]);
	print_target(name, r ? row_figure(r, 3).median : NAN, "x", 2, true, 1.10);
	m = mem_find("daemon RSS, idle after start");
	print_target("daemon RSS idle (after start)", m ? figure_of(m->kib, m->n).median : NAN, " KiB", 0, true, 4096);
	m = mem_find("daemon RSS, idle after the load");
	print_target("daemon RSS idle (after the load)", m ? figure_of(m->kib, m->n).median : NAN, " KiB", 0, true, 4096);
	snprintf(name, sizeof(name), "daemon RSS, %zu reservations outstanding", o->levels[o->n_levels - 1]);
	m = mem_find(name);
	snprintf(name, sizeof(name), "daemon RSS with %zu reservations", o->levels[o->n_levels - 1]);
	print_target(name, m ? figure_of(m->kib, m->n).median : NAN, " KiB", 0, true, 16384);
	snprintf(name, sizeof(name), "placeholder Pss (smaps_rollup), %zu outstanding", o->levels[o->n_levels - 1]);
	m = mem_find(name);
	print_target("placeholder Pss", m ? figure_of(m->kib, m->n).median : NAN, " KiB", 0, true, 128);
	printf("\n");
}

/* ------------------------------------------------------------ options */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: pidrestore-bench [OPTIONS]\n"
		"\n"
		"Measures pidrestored against in-process clone3(set_tid) and prints the\n"
		"tables of tests/bench/RESULTS.md. Needs root. `make bench` runs it.\n"
		"\n"
		"  --daemon PATH        pidrestored to start (default: the build tree's)\n"
		"  --holder PATH        its placeholder program (default: the build tree's)\n"
		"  --pids LO-HI         take PIDs from [LO, HI) (default: the top of pid_max)\n"
		"  --cpu N              the CPU of the pinned rows (default: the last)\n"
		"  --reps N             repetitions per figure (default 5)\n"
		"  --iterations N       operations per repetition (default 2000)\n"
		"  --exec-iterations N  operations per repetition that exec (default 300)\n"
		"  --duration MS        per repetition and client count (default 1000)\n"
		"  --scale A,B,C        outstanding reservations (default 0,1000,10000)\n"
		"  --batch N            PIDs in the batch rows (default 1000)\n"
		"  --quick              a few operations per figure, to check the program\n"
		"  --only GROUP,...     only these rows: floors, race, concurrency, scale,\n"
		"                       batch, cold (default: all)\n"
		"  -h, --help\n");
}

static int parse_size(const char *s, size_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v > 100000000ULL)
		return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

static int parse_levels(const char *s, struct options *o)
{
	char buf[128], *save = NULL;
	size_t prev = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	o->n_levels = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t v;

		if (o->n_levels == MAX_LEVELS || parse_size(t, &v) < 0 || (o->n_levels > 0 && v <= prev))
			return -EINVAL;
		o->levels[o->n_levels++] = prev = v;
	}
	return o->n_levels == MAX_LEVELS ? 0 : -EINVAL;
}

static int parse_groups(const char *s, struct options *o)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	o->groups = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (group_names[i] && strcmp(group_names[i], t) != 0)
			i++;
		if (!group_names[i])
			return -EINVAL;
		o->groups |= 1u << i;
	}
	return o->groups ? 0 : -EINVAL;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_DAEMON = 256, OPT_HOLDER, OPT_PIDS, OPT_CPU, OPT_REPS, OPT_ITER, OPT_EXEC_ITER, OPT_DURATION,
	       OPT_SCALE, OPT_BATCH, OPT_QUICK, OPT_ONLY };
	static const struct option options[] = {
		{ "daemon", required_argument, NULL, OPT_DAEMON },
		{ "holder", required_argument, NULL, OPT_HOLDER },
		{ "pids", required_argument, NULL, OPT_PIDS },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "reps", required_argument, NULL, OPT_REPS },
		{ "iterations", required_argument, NULL, OPT_ITER },
		{ "exec-iterations", required_argument, NULL, OPT_EXEC_ITER },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		size_t v = 0;
		int r = 0;

		switch (c) {
		case OPT_DAEMON:
			o->paths.daemon = optarg;
			break;
		case OPT_HOLDER:
			o->paths.holder = optarg;
			break;
		case OPT_PIDS: {
			long lo, hi;
			char tail;

			if (sscanf(optarg, "%ld-%ld%c", &lo, &hi, &tail) != 2 || lo < 2 || hi <= lo || hi > 0x400000)
				r = -EINVAL;
			o->pid_lo = (pid_t)lo;
			o->pid_hi = (pid_t)hi;
			break;
		}
		case OPT_CPU:
			r = parse_size(optarg, &v);
			if (r == 0 && v >= (size_t)cpu_count())
				r = -EINVAL;
			o->cpu = (int)v;
			break;
		case OPT_REPS:
			r = parse_size(optarg, &v);
			if (r == 0 && (v < 1 || v > BENCH_MAX_REPS))
				r = -EINVAL;
			o->reps = v;
			break;
		case OPT_ITER:
		case OPT_EXEC_ITER:
		case OPT_BATCH:
			r = parse_size(optarg, &v);
			if (r == 0 && v < 1)
				r = -EINVAL;
			if (c == OPT_ITER)
				o->iterations = v;
			else if (c == OPT_EXEC_ITER)
				o->exec_iterations = v;
			else
				o->batch = v;
			break;
		case OPT_DURATION:
			r = parse_size(optarg, &v);
			if (r == 0 && v < 1)
				r = -EINVAL;
			o->duration_ns = (uint64_t)v * 1000000u;
			break;
		case OPT_SCALE:
			r = parse_levels(optarg, o);
			break;
		case OPT_QUICK:
			o->iterations = 50;
			o->exec_iterations = 10;
			o->duration_ns = 30 * 1000000u;
			o->batch = 20;
			parse_levels("0,10,50", o);
			break;
		case OPT_ONLY:
			r = parse_groups(optarg, o);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "pidrestore-bench: invalid value \"%s\" for --%s; see --help\n", optarg,
				options[c - OPT_DAEMON].name);
			return r;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pidrestore-bench: unexpected argument \"%s\"; it takes options only\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* The PIDs every row needs, all distinct. */
struct pid_plan {
	pid_t reserve[4], exec[4];
	pid_t *conc, *held, *batch;
	size_t n_held;
};

static int plan_pids(const struct options *o, struct pid_plan *plan)
{
	size_t n_conc = conc_clients[CONC_COUNTS - 1] * CONC_PIDS_PER_CLIENT;
	size_t need = 8 + n_conc + o->levels[o->n_levels - 1] + o->batch;
	pid_t lo = o->pid_lo, hi = o->pid_hi, max = pid_max_read();
	struct pid_pool pool;
	int r;

	if (lo == 0) {
		/* The top of the PID space, where the kernel hands out PIDs last. */
		hi = max - 1;
		lo = hi - (pid_t)(need + SPARE_PIDS);
		if (lo < max / 2) {
			fprintf(stderr, "pidrestore-bench: pid_max is %d, too low for %zu free PIDs in its upper half; raise it (make bench does) or pass --pids\n",
				max, need);
			return -ERANGE;
		}
	}
	r = pid_pool_init(&pool, lo, hi);
	if (r == -ERANGE)
		fprintf(stderr, "pidrestore-bench: --pids %d-%d is not inside 2..pid_max (%d)\n", lo, hi, max);
	if (r < 0)
		return r;
	plan->conc = calloc(n_conc, sizeof(pid_t));
	plan->held = calloc(o->levels[o->n_levels - 1] + 1, sizeof(pid_t));
	plan->batch = calloc(o->batch, sizeof(pid_t));
	plan->n_held = o->levels[o->n_levels - 1];
	if (!plan->conc || !plan->held || !plan->batch)
		r = -ENOMEM;
	if (r == 0 && ((r = pid_pool_take(&pool, plan->reserve, 4)) < 0 || (r = pid_pool_take(&pool, plan->exec, 4)) < 0 ||
		       (r = pid_pool_take(&pool, plan->conc, n_conc)) < 0 ||
		       (r = pid_pool_take(&pool, plan->held, plan->n_held)) < 0 ||
		       (r = pid_pool_take(&pool, plan->batch, o->batch)) < 0))
		fprintf(stderr, "pidrestore-bench: fewer than %zu free PIDs in %d-%d; pass a larger --pids range\n", need, lo,
			hi);
	pid_pool_free(&pool);
	return r;
}

static bool under_seccomp(void)
{
	char line[256];
	bool filtered = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			filtered = atoi(line + 8) != 0;
	fclose(f);
	return filtered;
}

int main(int argc, char **argv)
{
	struct options o = {
		.paths = { .daemon = BENCH_DAEMON_PATH, .holder = BENCH_HOLDER_PATH },
		.reps = 5,
		.iterations = 2000,
		.exec_iterations = 300,
		.duration_ns = 1000 * 1000000ull,
		.batch = 1000,
		.cpu = cpu_count() - 1,
		.groups = GROUP_ALL,
	};
	const char *const daemon_args[] = { "--max-reservations", "100000", NULL };
	struct bench_daemon d = { 0 };
	struct pid_plan plan = { 0 };
	struct samples s = { 0 };
	struct mem_item *idle_start, *idle_after;
	int r;

	parse_levels("0,1000,10000", &o);
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (geteuid() != 0) {
		fprintf(stderr, "pidrestore-bench: needs root (the floors clone3 with set_tid; the daemon must be allowed every PID)\n");
		return 2;
	}
	if (under_seccomp()) {
		fprintf(stderr, "pidrestore-bench: runs under a seccomp filter, and pidrestored refuses filtered requesters; run it outside\n");
		return 2;
	}
	r = plan_pids(&o, &plan);
	if (r < 0)
		return 1;
	if (samples_init(&s, o.iterations + o.exec_iterations) < 0)
		return 1;

	r = daemon_start(&d, &o.paths, daemon_args);
	if (r < 0) {
		fail("starting pidrestored", r);
		goto out;
	}
	idle_start = mem_new("daemon RSS, idle after start");
	for (size_t rep = 0; rep < o.reps; rep++)
		mem_add(idle_start, proc_rss_kib(d.pid));

	if ((o.groups & GROUP_FLOORS && ((r = run_ratio_rows(&o, &d, o.cpu, plan.reserve, plan.exec, &s)) < 0 ||
					  (r = run_ratio_rows(&o, &d, -1, plan.reserve, plan.exec, &s)) < 0)) ||
	    (o.groups & GROUP_RACE && (r = run_ns_last_pid_race(&o, &s)) < 0) ||
	    (o.groups & GROUP_CONCURRENCY && (r = run_concurrency(&o, &d, plan.conc)) < 0) ||
	    (o.groups & GROUP_SCALE && (r = run_scale(&o, &d, plan.reserve, plan.held, &s)) < 0) ||
	    (o.groups & GROUP_BATCH && (r = run_batch(&o, &d, plan.batch)) < 0))
		goto report;
	idle_after = mem_new("daemon RSS, idle after the load");
	for (size_t rep = 0; rep < o.reps; rep++)
		mem_add(idle_after, proc_rss_kib(d.pid));
	daemon_stop(&d);
	if (o.groups & GROUP_COLD)
		r = run_cold_start(&o);
report:
	/* What was measured before a failure still tells something. */
	print_machine(&o);
	if (r < 0)
		printf("**incomplete: the run stopped at the failure reported on stderr**\n\n");
	print_rows();
	print_mems();
	print_targets(&o);
out:
	daemon_stop(&d);
	samples_free(&s);
	free(plan.conc);
	free(plan.held);
	free(plan.batch);
	return r < 0 ? 1 : 0;
}
