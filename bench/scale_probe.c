/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The measuring side of the end-to-end scale benchmark (bench/run-scale-bench.sh), run as root
 * in the test guest, in the network namespace of the program it measures. The same code times
 * every program, so their figures compare.
 *
 *   scale_probe run --services S --dests D --family 4|6|dual --cgroup DIR --log FILE
 *                   [--until exit|table] [--ready] [--timeout SEC] -- CMD ARGS...
 *     starts CMD in a new cgroup DIR (output to FILE) and waits until it exited (--until exit)
 *     or the kernel table is complete (--until table, default; CMD keeps running): polled every
 *     0.2 s, first a sample of every 97th virtual server and the last one with all D real
 *     servers (cheap), then the whole table over netlink (counted). Prints one line:
 *       wall_ms=W ready_ms=R exit=E cpu_ms=C user_ms=U sys_ms=K pid=P hwm_kb=H rss_kb=S
 *     cpu from the cgroup's cpu.stat (CMD and all its children), ready_ms when FILE says
 *     msg=ready (kipvs; with --ready the table counts as complete only after it), -1
 *     otherwise; hwm/rss from /proc/P/status while CMD runs.
 *   scale_probe flip --pid P --vip A --rs B (--rename FROM TO | --post HOST:PORT PATH BODY)
 *                    [--timeout SEC]
 *     makes the change (renames FROM to TO, or POSTs the file BODY to the fake API server's
 *     control port), then polls the weight of real server B:8080 of virtual server A:80 every
 *     5 ms until it is 0. Prints wall_ms (event to kernel), cpu_ms (process P's CPU from
 *     /proc/P/schedstat over that window) and settle_cpu_ms (the same, 0.5 s later).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipvs_bench_table.h"
#include "ipvs_internal.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1e3),
			      .tv_nsec = (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6)};

	nanosleep(&ts, NULL);
}

struct table_spec {
	int services, dests;
	int afs[2]; /* AF_INET, AF_INET6; 0 ends */
};

static void vs_key(int af, int i, struct ipvs_key *ret)
{
	struct net_addr a = {.family = af};

	bench_vip_af(af, i, a.bytes);
	ipvs_key_init(ret, &a, BENCH_PORT, IPPROTO_TCP);
}

struct dest_count {
	int n;
	const struct ipvs_key *want; /* when set: weight of this one in weight */
	long weight;
};

static int count_dest(const struct ipvs_dest *dest, const struct ipvs_dest_state *state, void *ud)
{
	struct dest_count *c = ud;

	(void)state;
	c->n++;
	if (c->want && ipvs_key_compare(&dest->key, c->want) == 0)
		c->weight = dest->weight;
	return 0;
}

/* True when virtual server i of af exists with all its real servers. */
static bool vs_complete(struct ipvs_ctx *ctx, const struct table_spec *t, int af, int i)
{
	struct ipvs_key k;
	struct dest_count c = {0};

	vs_key(af, i, &k);
	return ipvs_nl_dests_dump(ctx, &k, count_dest, &c) >= 0 && c.n == t->dests;
}

/* utime+stime of a whole cgroup, from its cpu.stat (usec). */
static void cgroup_cpu(const char *dir, long *ret_usage, long *ret_user, long *ret_sys)
{
	char path[4096], key[64];
	long v;
	FILE *f;

	*ret_usage = *ret_user = *ret_sys = -1000;
	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%63s %ld", key, &v) == 2) {
		if (strcmp(key, "usage_usec") == 0)
			*ret_usage = v;
		else if (strcmp(key, "user_usec") == 0)
			*ret_user = v;
		else if (strcmp(key, "system_usec") == 0)
			*ret_sys = v;
	}
	fclose(f);
}

/*
 * The whole table is there; *ret_ms: when the sample check passed, and cpu[3] the cgroup's CPU
 * then (the full read that confirms it takes seconds, while the program may still run).
 */
static bool table_complete(struct ipvs_ctx *ctx, const struct table_spec *t, const char *cg,
			   double *ret_ms, long cpu[3])
{
	struct ipvs_table tab = {0};
	size_t n_vs, n_rs, want_vs = 0;

	for (int f = 0; f < 2 && t->afs[f]; f++) {
		for (int i = 0; i < t->services; i += 97)
			if (!vs_complete(ctx, t, t->afs[f], i))
				return false;
		if (!vs_complete(ctx, t, t->afs[f], t->services - 1))
			return false;
		want_vs += (size_t)t->services;
	}
	*ret_ms = now_ms();
	cgroup_cpu(cg, &cpu[0], &cpu[1], &cpu[2]);
	if (ipvs_nl_table_read(ctx, &tab) < 0)
		return false;
	n_vs = ipvs_table_count(&tab, &n_rs);
	ipvs_table_clear(&tab);
	return n_vs == want_vs && n_rs == want_vs * (size_t)t->dests;
}

static long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

/* Whether the log file says msg=ready yet (rescanned from the start: it is short). */
static bool log_says_ready(const char *log)
{
	char line[4096];
	bool ready = false;
	FILE *f = fopen(log, "re");

	if (!f)
		return false;
	while (!ready && fgets(line, sizeof(line), f))
		ready = strstr(line, "msg=ready") != NULL;
	fclose(f);
	return ready;
}

static int parse_family(const char *v, struct table_spec *t)
{
	t->afs[0] = AF_INET;
	t->afs[1] = 0;
	if (strcmp(v, "6") == 0)
		t->afs[0] = AF_INET6;
	else if (strcmp(v, "dual") == 0)
		t->afs[1] = AF_INET6;
	else if (strcmp(v, "4") != 0)
		return -1;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct table_spec t = {0};
	const char *cg = NULL, *log = "/dev/null";
	bool until_exit = false, need_ready = false;
	double timeout_s = 1800, t0, wall = -1, ready = -1;
	struct ipvs_ctx *ctx = NULL;
	long usage = -1000, user = -1000, sys = -1000, hwm = -1, rss = -1, cpu[3];
	int a, status = 0, exit_code = -1;
	char path[4096];
	pid_t pid;

	for (a = 0; a < argc && strcmp(argv[a], "--") != 0; a += 2) {
		const char *v = a + 1 < argc ? argv[a + 1] : "";

		if (strcmp(argv[a], "--services") == 0)
			t.services = atoi(v);
		else if (strcmp(argv[a], "--dests") == 0)
			t.dests = atoi(v);
		else if (strcmp(argv[a], "--family") == 0 && parse_family(v, &t) == 0)
			;
		else if (strcmp(argv[a], "--cgroup") == 0)
			cg = v;
		else if (strcmp(argv[a], "--log") == 0)
			log = v;
		else if (strcmp(argv[a], "--until") == 0)
			until_exit = strcmp(v, "exit") == 0;
		else if (strcmp(argv[a], "--timeout") == 0)
			timeout_s = atof(v);
		else if (strcmp(argv[a], "--ready") == 0)
			need_ready = true, a--; /* no value */
		else
			return fprintf(stderr, "scale_probe run: bad option %s\n", argv[a]), 2;
	}
	if (a >= argc - 1 || !cg || t.services < 1 || !t.afs[0])
		return fprintf(stderr, "scale_probe run: needs --services, --family, --cgroup and "
				       "-- CMD\n"),
		       2;
	if (mkdir(cg, 0755) < 0 && errno != EEXIST)
		return perror(cg), 1;
	if (ipvs_ctx_open(&ctx) < 0)
		return fprintf(stderr, "scale_probe: no IPVS netlink\n"), 1;

	t0 = now_ms();
	pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		int fd;
		FILE *procs;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		procs = fopen(path, "we");
		if (!procs || fprintf(procs, "0\n") < 0 || fclose(procs) != 0)
			_exit(126);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[a + 1], argv + a + 1);
		_exit(127);
	}
	if (until_exit) {
		/* Blocking: the exact exit time (the timeout is --timeout of the caller). */
		if (waitpid(pid, &status, 0) == pid) {
			wall = now_ms() - t0;
			exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	}
	while (!until_exit) {
		double now = now_ms(), done;

		if (exit_code < 0 && waitpid(pid, &status, WNOHANG) == pid) {
			exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (ready < 0 && log_says_ready(log))
			ready = now - t0;
		if ((!need_ready || ready >= 0) && table_complete(ctx, &t, cg, &done, cpu)) {
			wall = done - t0;
			usage = cpu[0], user = cpu[1], sys = cpu[2];
			break;
		}
		if (exit_code >= 0) {
			fprintf(stderr, "scale_probe: %s exited %d, table incomplete\n", argv[a + 1],
				exit_code);
			break;
		}
		if (now - t0 > timeout_s * 1e3) {
			fprintf(stderr, "scale_probe: not complete after %.0f s\n", timeout_s);
			break;
		}
		sleep_ms(200);
	}
	if (until_exit)
		cgroup_cpu(cg, &usage, &user, &sys);
	if (exit_code < 0) {
		hwm = status_kb(pid, "VmHWM");
		rss = status_kb(pid, "VmRSS");
	}
	printf("wall_ms=%.0f ready_ms=%.0f exit=%d cpu_ms=%ld user_ms=%ld sys_ms=%ld pid=%d "
	       "hwm_kb=%ld rss_kb=%ld\n",
	       wall, ready, exit_code, usage / 1000, user / 1000, sys / 1000, (int)pid, hwm, rss);
	ipvs_ctx_free(ctx);
	return wall < 0 ? 1 : 0;
}

/* ns of CPU time of pid (the first field of /proc/PID/schedstat), -1 if gone. */
static long long schedstat_ns(pid_t pid)
{
	char path[64];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* POSTs the file body to http://hostport/path (the fake API server's plain-HTTP control API). */
static int http_post(const char *hostport, const char *path, const char *body_file)
{
	char host[256], *colon, req[512], buf[4096];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	FILE *f = fopen(body_file, "re");
	long len;
	char *body;
	int fd, ok;
	ssize_t n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	body = malloc((size_t)len + 1);
	if (!body || fread(body, 1, (size_t)len, f) != (size_t)len)
		return fclose(f), -1;
	fclose(f);
	snprintf(host, sizeof(host), "%s", hostport);
	colon = strrchr(host, ':');
	if (!colon)
		return free(body), -1;
	*colon = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return free(body), -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return free(body), -1;
	snprintf(req, sizeof(req),
		 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %ld\r\nConnection: close\r\n\r\n",
		 path, hostport, len);
	ok = write(fd, req, strlen(req)) == (ssize_t)strlen(req) &&
	     write(fd, body, (size_t)len) == (ssize_t)len;
	free(body);
	n = ok ? read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strncmp(buf, "HTTP/1.1 20", 11) == 0 || strncmp(buf, "HTTP/1.0 20", 11) == 0 ? 0 : -1;
}

static int parse_addr(const char *s, struct net_addr *ret)
{
	ret->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	return inet_pton(ret->family, s, ret->bytes) == 1 ? 0 : -1;
}

static int cmd_flip(int argc, char **argv)
{
	const char *vip = NULL, *rs = NULL, *from = NULL, *to = NULL, *post[3] = {0};
	double timeout_s = 120, t0, wall = -1;
	struct net_addr va, ra;
	struct ipvs_key vk, rk;
	struct ipvs_ctx *ctx = NULL;
	long long c0, c1, c2;
	pid_t pid = 0;
	int r;

	for (int a = 0; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : "";

		if (strcmp(argv[a], "--pid") == 0)
			pid = atoi(v), a++;
		else if (strcmp(argv[a], "--vip") == 0)
			vip = v, a++;
		else if (strcmp(argv[a], "--rs") == 0)
			rs = v, a++;
		else if (strcmp(argv[a], "--timeout") == 0)
			timeout_s = atof(v), a++;
		else if (strcmp(argv[a], "--rename") == 0 && a + 2 < argc)
			from = argv[a + 1], to = argv[a + 2], a += 2;
		else if (strcmp(argv[a], "--post") == 0 && a + 3 < argc)
			post[0] = argv[a + 1], post[1] = argv[a + 2], post[2] = argv[a + 3], a += 3;
		else
			return fprintf(stderr, "scale_probe flip: bad option %s\n", argv[a]), 2;
	}
	if (!pid || !vip || !rs || (!from && !post[0]) || parse_addr(vip, &va) < 0 ||
	    parse_addr(rs, &ra) < 0)
		return fprintf(stderr, "scale_probe flip: needs --pid, --vip, --rs and --rename or "
				       "--post\n"),
		       2;
	ipvs_key_init(&vk, &va, BENCH_PORT, IPPROTO_TCP);
	ipvs_key_init(&rk, &ra, BENCH_RS_PORT, 0);
	if (ipvs_ctx_open(&ctx) < 0)
		return fprintf(stderr, "scale_probe: no IPVS netlink\n"), 1;

	c0 = schedstat_ns(pid);
	t0 = now_ms();
	r = from ? rename(from, to) : http_post(post[0], post[1], post[2]);
	if (r < 0)
		return fprintf(stderr, "scale_probe flip: the change failed\n"), 1;
	for (;;) {
		struct dest_count c = {.want = &rk, .weight = -1};

		if (ipvs_nl_dests_dump(ctx, &vk, count_dest, &c) >= 0 && c.weight == 0) {
			wall = now_ms() - t0;
			break;
		}
		if (now_ms() - t0 > timeout_s * 1e3)
			break;
		sleep_ms(5);
	}
	c1 = schedstat_ns(pid);
	sleep_ms(500);
	c2 = schedstat_ns(pid);
	printf("wall_ms=%.1f cpu_ms=%.1f settle_cpu_ms=%.1f\n", wall, (double)(c1 - c0) / 1e6,
	       (double)(c2 - c0) / 1e6);
	ipvs_ctx_free(ctx);
	return wall < 0 || c1 < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "flip") == 0)
		return cmd_flip(argc - 2, argv + 2);
	fprintf(stderr, "usage: scale_probe run|flip ... (see bench/scale_probe.c)\n");
	return 2;
}
