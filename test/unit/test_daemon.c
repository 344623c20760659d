/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the daemon's loop (cmd/daemon.c, daemon_sync.c) with a recording fake kernel
 * and a watched --from directory: the first sync and READY=1 after it, a file change re-synced
 * with the new table, a change the plan absorbs not reaching the kernel, the minimum sync
 * period, backoff after failed syncs, the periodic verification, SIGTERM, the in-cluster
 * warning about an empty IPVS table (a fake /proc and service account), and the missing-node
 * warning only once a Service has a nodePort. The fake is never
 * proof that the kernel side works: the guest integration tests are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "cleanup.h"
#include "daemon_internal.h"
#include "health_internal.h"
#include "kube_options.h"
#include "log.h"
#include "plan.h"
#include "plan_fw.h"

/* ---- The fake kernel ---- */

#define FAKE_MAX 64

struct fake_kernel {
	unsigned opens, frees, syncs, verifies;
	unsigned fail_next;	/* the next n syncs return -EIO */
	double at[FAKE_MAX];	/* ev_time() of each sync call */
	char *last_table;	/* ipvsadm -Sn text of the last desired table */
	unsigned ready_at_sync; /* fake->syncs when READY=1 arrived; 0: not yet */
	size_t fw_elems;	/* elements of the packet path's sets in the last sync */
	size_t first_fw_elems;	/* ... in the first */
	unsigned fw_sets_sum;	/* the sum of every element's set (+1): moves when one changes set */
	unsigned unchanged_syncs; /* syncs told the plan and the sets are those of the last one */
	bool same_sets;		  /* the last sync was told the sets are those of the last one */
	unsigned fw_addr_sum;	  /* the sum of every element's address bytes: moves with one */
	size_t part_vs;		  /* virtual servers in the last sync's part; 0: none (full) */
	bool stopping_seen;
};

static struct fake_kernel fake;

static int fake_open(const struct daemon_kernel_config *cfg, void **ret, char *err, size_t err_size)
{
	(void)cfg;
	(void)err;
	(void)err_size;
	fake.opens++;
	*ret = &fake;
	return 0;
}

static void *fake_free(void *k)
{
	(void)k;
	fake.frees++;
	return NULL;
}

static int fake_sync(void *k, const struct plan_table *desired, const struct plan_fw *fw_desired,
		     unsigned same, const struct plan_table *part, struct ipvs_node_result *ret)
{
	size_t len = 0;
	FILE *f;

	(void)k;
	fake.unchanged_syncs += same == (DAEMON_SAME_PLAN | DAEMON_SAME_SETS);
	fake.same_sets = (same & DAEMON_SAME_SETS) != 0;
	fake.part_vs = part ? part->n_vs : 0;
	fake.fw_elems = fw_desired ? fw_desired->n_elems : 0;
	if (fake.syncs == 0)
		fake.first_fw_elems = fake.fw_elems;
	fake.fw_sets_sum = 0;
	fake.fw_addr_sum = 0;
	for (size_t i = 0; fw_desired && i < fw_desired->n_elems; i++) {
		fake.fw_sets_sum += (unsigned)fw_desired->elems[i].set + 1;
		for (size_t b = 0; b < sizeof(fw_desired->elems[i].addr.bytes); b++)
			fake.fw_addr_sum += fw_desired->elems[i].addr.bytes[b];
	}
	if (fake.syncs < FAKE_MAX)
		fake.at[fake.syncs] = ev_time();
	fake.syncs++;
	free(fake.last_table);
	fake.last_table = NULL;
	f = open_memstream(&fake.last_table, &len);
	assert_non_null(f);
	assert_int_equal(plan_table_write(desired, f), 0);
	assert_int_equal(fclose(f), 0);
	if (fake.fail_next > 0) {
		fake.fail_next--;
		return -EIO;
	}
	*ret = (struct ipvs_node_result){0};
	ret->sync.services_added = (unsigned)desired->n_vs;
	ret->sync.operations = (unsigned)desired->n_vs;
	ret->phases.ms[SYNC_PHASE_IPVS] = 5; /* what a kernel side reports reaches the metric */
	return 0;
}

static int fake_sweep(void *k, struct ipvs_node_result *ret)
{
	(void)k;
	(void)ret;
	return 0;
}

static unsigned fake_draining(const void *k)
{
	(void)k;
	return 0;
}

static void fake_verify(void *k)
{
	(void)k;
	fake.verifies++;
}

static int fake_stats(void *k, ipvs_node_stats_fn fn, void *userdata)
{
	(void)k;
	(void)fn;
	(void)userdata;
	return 0;
}

static const struct daemon_kernel_ops fake_ops = {
    .open = fake_open,
    .free = fake_free,
    .sync = fake_sync,
    .drain_sweep = fake_sweep,
    .draining_count = fake_draining,
    .request_verify = fake_verify,
    .stats_foreach = fake_stats,
};

/* ---- Fixtures: a --from directory, a notify socket, the loop ---- */

static const char cluster_fmt[] =
    "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":["
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\","
    "\"resourceVersion\":\"1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
    "\"address\":\"192.168.0.10\"}]}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"namespace\":\"default\","
    "\"name\":\"web\",\"resourceVersion\":\"1\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
    "\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]}},"
    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
    "{\"namespace\":\"default\",\"name\":\"web-1\",\"resourceVersion\":\"%d\",%s\"labels\":"
    "{\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":"
    "\"\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":["
    "{\"addresses\":[\"10.244.1.2\"],\"conditions\":{\"ready\":true},\"nodeName\":\"node-a\"},"
    "{\"addresses\":[\"10.244.2.%d\"],\"conditions\":{\"ready\":%s,\"serving\":true,"
    "\"terminating\":%s},\"nodeName\":\"node-b\"}]}]}\n";

static const char table_both[] = "-A -t 10.96.0.10:80 -s rr\n"
				 "-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1\n"
				 "-a -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1\n";
static const char table_draining[] = "-A -t 10.96.0.10:80 -s rr\n"
				     "-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1\n"
				     "-a -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n";

struct fixture {
	char dir[64];
	char file[96];
	char sock_name[64];
	int sock;
	struct ev_loop *loop;
	ev_io sock_io;
	ev_timer step; /* the test's script */
	ev_timer deadline;
	struct kube_options opts;
	struct daemon *d;
	int phase;
	double t0;
	unsigned sets_before; /* fake.fw_sets_sum at a step of the script */
	unsigned addrs_before; /* fake.fw_addr_sum at a step of the script */
};

/* trigger_ns: the slice's last-change-trigger-time (CLOCK_REALTIME); 0: no annotation. */
static void write_cluster_triggered(struct fixture *f, int rv, bool terminating, int octet,
				    int64_t trigger_ns)
{
	char tmp[128], annot[160] = "", when[32];
	FILE *out;

	if (trigger_ns > 0) {
		time_t secs = (time_t)(trigger_ns / 1000000000);
		struct tm tm;

		assert_non_null(gmtime_r(&secs, &tm));
		assert_true(strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) > 0);
		(void)snprintf(annot, sizeof(annot),
			       "\"annotations\":{\"endpoints.kubernetes.io/last-change-trigger-time\":"
			       "\"%s.%09lldZ\"},",
			       when, (long long)(trigger_ns % 1000000000));
	}
	(void)snprintf(tmp, sizeof(tmp), "%s/.tmp", f->dir);
	out = fopen(tmp, "w");
	assert_non_null(out);
	fprintf(out, cluster_fmt, rv, annot, octet, terminating ? "false" : "true",
		terminating ? "true" : "false");
	assert_int_equal(fclose(out), 0);
	assert_int_equal(rename(tmp, f->file), 0);
}

static void write_cluster(struct fixture *f, int rv, bool terminating, int octet)
{
	write_cluster_triggered(f, rv, terminating, octet, 0);
}

static void on_notify(struct ev_loop *loop, ev_io *w, int revents)
{
	char buf[512];
	ssize_t n;

	(void)loop;
	(void)w;
	(void)revents;
	while ((n = recv(w->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		if (strncmp(buf, "READY=1", 7) == 0 && fake.ready_at_sync == 0)
			fake.ready_at_sync = fake.syncs;
		if (strstr(buf, "STOPPING=1"))
			fake.stopping_seen = true;
	}
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	print_message("deadline reached\n");
	ev_break(loop, EVBREAK_ALL);
}

static void fixture_open(struct fixture *f, bool default_loop, const char **extra, size_t n_extra)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *argv[32];
	int argc = 0;
	char err[256];

	memset(f, 0, sizeof(*f));
	memset(&fake, 0, sizeof(fake));
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/kipvs-test-daemon.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)snprintf(f->file, sizeof(f->file), "%s/cluster.json", f->dir);
	write_cluster(f, 1, false, 2);

	static unsigned seq; /* a failed test leaves its socket bound: never reuse a name */

	(void)snprintf(f->sock_name, sizeof(f->sock_name), "@kipvs-test-daemon-%d-%u",
		       (int)getpid(), seq++);
	f->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(f->sock >= 0);
	memcpy(sa.sun_path + 1, f->sock_name + 1, strlen(f->sock_name) - 1);
	assert_int_equal(
	    bind(f->sock, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(f->sock_name))),
	    0);

	argv[argc++] = (char *)"run";
	argv[argc++] = (char *)"--from";
	argv[argc++] = f->dir;
	argv[argc++] = (char *)"--hostname-override";
	argv[argc++] = (char *)"node-a";
	argv[argc++] = (char *)"--healthz-bind-address";
	argv[argc++] = (char *)"";
	argv[argc++] = (char *)"--metrics-bind-address";
	argv[argc++] = (char *)"";
	for (size_t i = 0; i < n_extra; i++)
		argv[argc++] = (char *)extra[i];
	argv[argc] = NULL;
	assert_int_equal(
	    kube_options_parse(&f->opts, KUBE_OPTIONS_CMD_RUN, argc, argv, err, sizeof(err)), 0);

	f->loop = default_loop ? ev_default_loop(0) : ev_loop_new(EVFLAG_AUTO);
	assert_non_null(f->loop);
	ev_io_init(&f->sock_io, on_notify, f->sock, EV_READ);
	ev_io_start(f->loop, &f->sock_io);
	ev_timer_init(&f->deadline, on_deadline, 10, 0);
	ev_timer_start(f->loop, &f->deadline);

	const struct daemon_env env = {
	    .loop = f->loop,
	    .kernel = &fake_ops,
	    .notify_socket = f->sock_name,
	    .no_signals = !default_loop,
	};
	assert_int_equal(daemon_new(&f->opts, &env, &f->d), 0);
	f->t0 = ev_time();
}

static void fixture_close(struct fixture *f)
{
	char cmd[128];

	f->d = daemon_free(f->d);
	ev_io_stop(f->loop, &f->sock_io);
	ev_timer_stop(f->loop, &f->deadline);
	ev_timer_stop(f->loop, &f->step);
	if (f->loop != ev_default_loop(0))
		ev_loop_destroy(f->loop);
	(void)close(f->sock);
	kube_options_clear(&f->opts);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(fake.last_table);
	fake.last_table = NULL;
}

/* Runs the loop, calling script every 50 ms until it returns true (or the deadline). */
static void run_script(struct fixture *f, void (*cb)(struct ev_loop *, ev_timer *, int))
{
	ev_timer_init(&f->step, cb, 0.05, 0.05);
	ev_timer_start(f->loop, &f->step);
	daemon_loop(f->d);
	assert_true(ev_is_active(&f->deadline)); /* the script ended it, not the deadline */
}

/* ---- Tests ---- */

static void first_sync_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)revents;
	if (daemon_is_ready(f->d) && fake.ready_at_sync > 0)
		ev_break(loop, EVBREAK_ALL);
}

/* Each phase of every sync is in the histogram; the kernel side's own figures with them. */
static void phases_assert_observed(struct health *h, unsigned syncs)
{
	char *text = NULL, want[160];
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	assert_int_equal(health_metrics_render(h->metrics, out), 0);
	assert_int_equal(fclose(out), 0);
	for (int p = 0; p < _SYNC_PHASE_MAX; p++) {
		(void)snprintf(want, sizeof(want),
			       "kipvs_sync_phase_duration_seconds_count{phase=\"%s\"} %u\n",
			       sync_phase_to_string((enum sync_phase)p), syncs);
		if (!strstr(text, want))
			fail_msg("missing line: %s in\n%s", want, text);
	}
	/* the fake's 5 ms of IPVS: above the 4 ms bucket, inside the 8 ms one */
	assert_non_null(strstr(
	    text, "kipvs_sync_phase_duration_seconds_bucket{phase=\"ipvs\",le=\"0.004\"} 0\n"));
	assert_non_null(strstr(
	    text, "kipvs_sync_phase_duration_seconds_bucket{phase=\"ipvs\",le=\"0.008\"} 1\n"));
	free(text);
}

static void test_first_sync_then_ready(void **state)
{
	struct fixture f;

	(void)state;
	fixture_open(&f, false, NULL, 0);
	assert_int_equal(fake.opens, 1);
	run_script(&f, first_sync_script);
	assert_int_equal(fake.syncs, 1);
	assert_string_equal(fake.last_table, table_both);
	/* the packet path's sets came with it (from the same plan) */
	assert_true(fake.fw_elems > 0);
	/* READY=1 came after the first sync, not before */
	assert_int_equal(fake.ready_at_sync, 1);
	phases_assert_observed(f.d->health, 1);
	fixture_close(&f);
	assert_int_equal(fake.frees, 1);
}

static void change_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)revents;
	switch (f->phase) {
	case 0: /* ready: an endpoint starts terminating */
		if (!daemon_is_ready(f->d))
			return;
		write_cluster(f, 2, true, 2);
		f->phase = 1;
		return;
	case 1:
		if (fake.syncs < 2)
			return;
		/* the same content with a new resourceVersion: nothing for the kernel */
		write_cluster(f, 3, true, 2);
		f->t0 = ev_time();
		f->phase = 2;
		return;
	case 2:
		if (ev_time() - f->t0 > 1.0)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
}

static void test_change_resynced(void **state)
{
	struct fixture f;

	(void)state;
	fixture_open(&f, false, NULL, 0);
	run_script(&f, change_script);
	assert_int_equal(f.phase, 2);
	assert_int_equal(fake.syncs, 2);
	assert_string_equal(fake.last_table, table_draining);
	fixture_close(&f);
}

/* web with an externalIP and one endpoint, on this node: its policy moves nftables elements only. */
static const char etp_fmt[] =
    "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":["
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\","
    "\"resourceVersion\":\"1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
    "\"address\":\"192.168.0.10\"}]}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"namespace\":\"default\","
    "\"name\":\"web\",\"resourceVersion\":\"%d\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
    "\"externalIPs\":[\"203.0.113.5\"],\"externalTrafficPolicy\":\"%s\","
    "\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]}},"
    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":"
    "{\"namespace\":\"default\",\"name\":\"web-1\",\"resourceVersion\":\"1\",\"labels\":"
    "{\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":"
    "\"\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":["
    "{\"addresses\":[\"10.244.1.2\"],\"conditions\":{\"ready\":true},"
    "\"nodeName\":\"node-a\"}]}]}\n";

static void write_etp(struct fixture *f, int rv, const char *policy)
{
	char tmp[128];
	FILE *out;

	(void)snprintf(tmp, sizeof(tmp), "%s/.tmp", f->dir);
	out = fopen(tmp, "w");
	assert_non_null(out);
	fprintf(out, etp_fmt, rv, policy);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(rename(tmp, f->file), 0);
}

static void etp_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)revents;
	switch (f->phase) {
	case 0:
		if (!daemon_is_ready(f->d))
			return;
		write_etp(f, 2, "Cluster");
		f->phase = 1;
		return;
	case 1:
		if (fake.syncs < 2)
			return;
		f->sets_before = fake.fw_sets_sum;
		write_etp(f, 3, "Local");
		f->phase = 2;
		return;
	case 2:
		if (fake.syncs >= 3)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
}

/*
 * externalTrafficPolicy Cluster -> Local with only local endpoints leaves the IPVS plan as it
 * was but moves the externalIP between nftables sets: that is a change for the kernel too.
 */
static void test_policy_change_reaches_the_packet_path(void **state)
{
	struct fixture f;

	(void)state;
	fixture_open(&f, false, NULL, 0);
	run_script(&f, etp_script);
	assert_int_equal(f.phase, 2);
	assert_int_equal(fake.syncs, 3);
	assert_true(fake.fw_sets_sum != f.sets_before);
	assert_int_equal(fake.unchanged_syncs, 0); /* the sets' change is one: not a mere verification */
	fixture_close(&f);
}

static void sets_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)revents;
	switch (f->phase) {
	case 0:
		if (!daemon_is_ready(f->d))
			return;
		assert_int_equal(fake.part_vs, 0); /* the first sync is whole */
		f->sets_before = fake.fw_sets_sum;
		f->addrs_before = fake.fw_addr_sum;
		write_cluster(f, 2, true, 2); /* 10.244.2.2 terminating: weight 0, still in the sets */
		f->phase = 1;
		return;
	case 1:
		if (fake.syncs < 2)
			return;
		assert_string_equal(fake.last_table, table_draining);
		assert_true(fake.same_sets);
		assert_int_equal(fake.fw_sets_sum, f->sets_before);
		assert_int_equal(fake.fw_addr_sum, f->addrs_before);
		assert_int_equal(fake.part_vs, 1); /* the one virtual server the change touched */
		write_cluster(f, 3, false, 7); /* another address: its hairpin element changes */
		f->phase = 2;
		return;
	case 2:
		if (fake.syncs >= 3)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
}

/*
 * An endpoint change that leaves the packet path's sets as they were (a weight) reaches the
 * kernel side as "same sets" (no nftables transaction); one that moves an element does not.
 * Both keep the virtual servers, so the kernel side gets the touched one as the part to diff.
 */
static void test_endpoint_change_keeps_the_sets(void **state)
{
	struct fixture f;

	(void)state;
	fixture_open(&f, false, NULL, 0);
	run_script(&f, sets_script);
	assert_int_equal(f.phase, 2);
	assert_int_equal(fake.syncs, 3);
	assert_false(fake.same_sets);
	assert_int_equal(fake.fw_elems, fake.first_fw_elems);
	assert_int_equal(fake.fw_addr_sum, f.addrs_before + 5); /* the hairpin element: 10.244.2.2 -> .7 */
	assert_non_null(strstr(fake.last_table, "10.244.2.7:8080"));
	assert_int_equal(fake.part_vs, 1);
	fixture_close(&f);
}

static int64_t trigger_ns; /* the trigger time programming_script writes */

static void programming_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)revents;
	switch (f->phase) {
	case 0:
		if (!daemon_is_ready(f->d))
			return;
		/* The change happens now; another sync starts before its slice arrives (the
		 * EndpointSlice controller batches, and the annotation has a second's resolution). */
		trigger_ns = daemon_now_ns();
		write_cluster(f, 2, false, 3);
		f->phase = 1;
		return;
	case 1:
		if (fake.syncs < 2)
			return;
		write_cluster_triggered(f, 3, true, 3, trigger_ns);
		f->phase = 2;
		return;
	case 2:
		if (fake.syncs >= 3)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
}

/* A trigger time older than the last sync's start is still that change's latency. */
static void test_programming_latency_observed(void **state)
{
	char *text = NULL;
	size_t len = 0;
	struct fixture f;
	FILE *out;

	(void)state;
	fixture_open(&f, false, NULL, 0);
	run_script(&f, programming_script);
	assert_int_equal(fake.syncs, 3);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(health_metrics_render(f.d->health->metrics, out), 0);
	assert_int_equal(fclose(out), 0);
	if (!strstr(text, "kubeproxy_network_programming_duration_seconds_count 1\n"))
		fail_msg("one observation expected (only the third sync's slice has a trigger time) in\n%s",
			 text);
	free(text);
	fixture_close(&f);
}

static void burst_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)revents;
	if (!daemon_is_ready(f->d))
		return;
	/* after ready: a change every 150 ms, six of them, each a new endpoint address */
	if (f->phase < 6) {
		if (ev_time() - f->t0 < 0.15)
			return;
		f->t0 = ev_time();
		write_cluster(f, 10 + f->phase, false, 10 + f->phase);
		f->phase++;
		return;
	}
	if (ev_time() - f->t0 > 1.5)
		ev_break(loop, EVBREAK_ALL);
}

static void test_min_sync_period(void **state)
{
	static const char *extra[] = {"--ipvs-min-sync-period", "600ms"};
	struct fixture f;

	(void)state;
	fixture_open(&f, false, extra, 2);
	run_script(&f, burst_script);
	/* six changes in ~0.9 s: at most one sync per 600 ms, and the last state arrives */
	assert_true(fake.syncs >= 2);
	assert_true(fake.syncs <= 4);
	for (unsigned i = 1; i < fake.syncs; i++)
		if (fake.at[i] - fake.at[i - 1] < 0.59) {
			print_message("syncs %u and %u only %.3f s apart\n", i - 1, i,
				      fake.at[i] - fake.at[i - 1]);
			fail();
		}
	/* the last write's state arrived */
	assert_string_equal(fake.last_table, "-A -t 10.96.0.10:80 -s rr\n"
					     "-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1\n"
					     "-a -t 10.96.0.10:80 -r 10.244.2.15:8080 -m -w 1\n");
	fixture_close(&f);
}

static void retry_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)w;
	(void)revents;
	if (daemon_is_ready(f->d))
		ev_break(loop, EVBREAK_ALL);
}

static void test_failed_sync_backoff(void **state)
{
	struct fixture f;

	(void)state;
	fake.fail_next = 0;
	fixture_open(&f, false, NULL, 0);
	fake.fail_next = 3;
	run_script(&f, retry_script);
	/* three failures, then the fourth attempt works: 0.5 s, 1 s, 2 s apart */
	assert_int_equal(fake.syncs, 4);
	assert_int_equal(daemon_sync_count(f.d), 1);
	assert_true(fake.at[1] - fake.at[0] >= 0.45);
	assert_true(fake.at[2] - fake.at[1] >= 0.95);
	assert_true(fake.at[3] - fake.at[2] >= 1.95);
	assert_int_equal(fake.ready_at_sync, 4);
	fixture_close(&f);
}

static void verify_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	if (fake.verifies >= 3 && fake.syncs >= 4)
		ev_break(loop, EVBREAK_ALL);
}

static void test_periodic_verification(void **state)
{
	static const char *extra[] = {"--ipvs-sync-period", "300ms"};
	struct fixture f;

	(void)state;
	fixture_open(&f, false, extra, 2);
	run_script(&f, verify_script);
	/* every period: a verification requested and a kernel sync, without any change */
	assert_true(fake.verifies >= 3);
	assert_true(fake.syncs >= 4);
	assert_string_equal(fake.last_table, table_both);
	/* the packet path's sets came with the last verification too (kept from the plan) */
	assert_true(fake.first_fw_elems > 0);
	assert_int_equal(fake.fw_elems, fake.first_fw_elems);
	/* each verification is told nothing changed (it may only read); the first sync is not */
	assert_int_equal(fake.unchanged_syncs, fake.syncs - 1);
	fixture_close(&f);
}

static int stop_signal; /* what stop_script raises */

static void stop_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);

	(void)loop;
	(void)revents;
	if (daemon_is_ready(f->d) && f->phase == 0) {
		f->phase = 1;
		assert_int_equal(raise(stop_signal), 0);
	}
}

/* SIGTERM (systemd) and SIGINT (Ctrl-C) both stop the loop and leave the kernel as it is. */
static void check_signal_stops_cleanly(int sig)
{
	struct fixture f;

	stop_signal = sig;
	fixture_open(&f, true, NULL, 0);
	run_script(&f, stop_script);
	assert_int_equal(f.phase, 1);
	/* the loop ended on the signal; STOPPING=1 was sent; nothing was removed */
	ev_run(f.loop, EVRUN_NOWAIT);
	on_notify(f.loop, &f.sock_io, 0);
	assert_true(fake.stopping_seen);
	assert_int_equal(fake.syncs, 1);
	fixture_close(&f);
	assert_int_equal(fake.frees, 1);
}

static void test_sigterm_stops_cleanly(void **state)
{
	(void)state;
	check_signal_stops_cleanly(SIGTERM);
}

static void test_sigint_stops_cleanly(void **state)
{
	(void)state;
	check_signal_stops_cleanly(SIGINT);
}

/* ---- In-cluster configuration with an empty IPVS table (issue 3) ---- */

static FILE *devnull;

#define IN_CLUSTER_WARNING "in-cluster config with an empty IPVS table"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *out;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fputs(text, out) < 0, 0);
	assert_int_equal(fclose(out), 0);
}

static void test_in_cluster_empty_table_warning(void **state)
{
	static const char header[] =
	    "IP Virtual Server version 1.2.1 (size=4096)\n"
	    "Prot LocalAddress:Port Scheduler Flags\n"
	    "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n";
	static const char one_vs[] = "TCP  0A60000A:0050 rr\n"
				     "  -> 0AF40102:1F90      Masq    1      0          0\n";
	static const struct {
		const char *name;
		const char *services; /* after the header of <proc>/net/ip_vs; NULL: no file */
		const char *master;   /* --master, or NULL */
		bool want_warning;
	} cases[] = {
	    {"empty table", "", NULL, true},
	    {"no /proc/net/ip_vs (IPVS not loaded)", NULL, NULL, true},
	    {"table holds a service", one_vs, NULL, false},
	    {"empty table but --master given", "", "https://192.0.2.1:6443", false},
	};
	char root[64], sa[96], proc[96], net[128], ip_vs[160], cmd[128], err[256];

	(void)state;
	(void)snprintf(root, sizeof(root), "/tmp/kipvs-test-incluster.XXXXXX");
	assert_non_null(mkdtemp(root));
	(void)snprintf(sa, sizeof(sa), "%s/sa", root);
	(void)snprintf(proc, sizeof(proc), "%s/proc", root);
	(void)snprintf(net, sizeof(net), "%s/net", proc);
	(void)snprintf(ip_vs, sizeof(ip_vs), "%s/ip_vs", net);
	assert_int_equal(mkdir(sa, 0700), 0);
	assert_int_equal(mkdir(proc, 0700), 0);
	assert_int_equal(mkdir(net, 0700), 0);
	write_file(sa, "token", "test-token\n");
	write_file(sa, "ca.crt", "not read before a request\n");
	/* A port nothing listens on: the loop never runs, so no request is even sent. */
	assert_int_equal(setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1), 0);
	assert_int_equal(setenv("KUBERNETES_SERVICE_PORT", "1", 1), 0);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(kube_options_clear) struct kube_options opts = {0};
		char *argv[16], *log_text = NULL;
		size_t log_len = 0;
		int argc = 0;
		struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
		struct daemon *d = NULL;
		FILE *log_stream;

		print_message("case: %s\n", cases[i].name);
		assert_non_null(loop);
		(void)unlink(ip_vs);
		if (cases[i].services) {
			char text[512];

			(void)snprintf(text, sizeof(text), "%s%s", header, cases[i].services);
			write_file(net, "ip_vs", text);
		}
		argv[argc++] = (char *)"run";
		argv[argc++] = (char *)"--hostname-override";
		argv[argc++] = (char *)"node-a";
		argv[argc++] = (char *)"--healthz-bind-address";
		argv[argc++] = (char *)"";
		argv[argc++] = (char *)"--metrics-bind-address";
		argv[argc++] = (char *)"";
		if (cases[i].master) {
			argv[argc++] = (char *)"--master";
			argv[argc++] = (char *)cases[i].master;
		}
		argv[argc] = NULL;
		assert_int_equal(
		    kube_options_parse(&opts, KUBE_OPTIONS_CMD_RUN, argc, argv, err, sizeof(err)),
		    0);

		const struct daemon_env env = {
		    .loop = loop,
		    .kernel = &fake_ops,
		    .notify_socket = "",
		    .proc_root = proc,
		    .sa_dir = sa,
		    .no_signals = true,
		};

		log_stream = open_memstream(&log_text, &log_len);
		assert_non_null(log_stream);
		log_set_stream(log_stream);
		memset(&fake, 0, sizeof(fake));
		assert_int_equal(daemon_new(&opts, &env, &d), 0);
		d = daemon_free(d);
		log_set_stream(getenv("KIPVS_TEST_LOG") ? NULL : devnull);
		assert_int_equal(fclose(log_stream), 0);
		ev_loop_destroy(loop);

		bool warned = strstr(log_text, IN_CLUSTER_WARNING) != NULL;

		if (warned != cases[i].want_warning) {
			print_message("case '%s': warning %s, want %s; log:\n%s", cases[i].name,
				      warned ? "logged" : "absent",
				      cases[i].want_warning ? "logged" : "absent", log_text);
			free(log_text);
			fail();
		}
		if (warned) /* at warn level, with the hint naming --master */
			assert_true(
			    strstr(log_text,
				   "level=warn component=daemon msg=\"" IN_CLUSTER_WARNING) &&
			    strstr(log_text, "hint=\"pass --master"));
		free(log_text);
	}
	(void)unsetenv("KUBERNETES_SERVICE_HOST");
	(void)unsetenv("KUBERNETES_SERVICE_PORT");
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

/* ---- The node-address warning: only when a Service has a nodePort (issue 11) ---- */

#define NO_NODE_ADDR_LINE                                                                          \
	"level=warn component=daemon msg=\"no node address: no NodePort virtual server\" "         \
	"node=node-x reason=\"Node node-x not found\""

static const char cluster_nodeport[] =
    "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":["
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\","
    "\"resourceVersion\":\"1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
    "\"address\":\"192.168.0.10\"}]}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"namespace\":\"default\","
    "\"name\":\"web\",\"resourceVersion\":\"2\"},\"spec\":{\"type\":\"NodePort\","
    "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\","
    "\"targetPort\":8080,\"nodePort\":30080}]}}]}\n";

static char *warn_log;
static size_t warn_log_len;
static FILE *warn_stream;
static bool warned_before_nodeport;

static void nodeport_script(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = container_of(w, struct fixture, step);
	char tmp[128];

	(void)revents;
	if (f->phase == 0 && fake.syncs >= 1) {
		/* synced a ClusterIP-only cluster on a node without a Node object */
		(void)fflush(warn_stream);
		warned_before_nodeport = strstr(warn_log, "no node address") != NULL;
		(void)snprintf(tmp, sizeof(tmp), "%s/.tmp", f->dir);
		write_file(f->dir, ".tmp", cluster_nodeport);
		assert_int_equal(rename(tmp, f->file), 0);
		f->phase = 1;
	} else if (f->phase == 1 && fake.syncs >= 2) {
		ev_break(loop, EVBREAK_ALL);
	}
}

static void test_node_addrs_warning(void **state)
{
	static const char *extra[] = {"--hostname-override", "node-x"};
	struct fixture f;

	(void)state;
	warn_stream = open_memstream(&warn_log, &warn_log_len);
	assert_non_null(warn_stream);
	log_set_stream(warn_stream);
	fixture_open(&f, false, extra, 2);
	run_script(&f, nodeport_script);
	fixture_close(&f);
	log_set_stream(getenv("KIPVS_TEST_LOG") ? NULL : devnull);
	assert_int_equal(fclose(warn_stream), 0);
	const char *line = strstr(warn_log, NO_NODE_ADDR_LINE);

	if (warned_before_nodeport || !line ||
	    strstr(line + strlen(NO_NODE_ADDR_LINE), "no node address")) {
		print_message("want no warning before the NodePort Service and one after (%s)\n",
			      warned_before_nodeport ? "warned before" : "not warned before");
		fputs(warn_log, stdout);
		free(warn_log);
		fail();
	}
	free(warn_log);
}

/*
 * A sync's result reaches /metrics by kind: every operation in kipvs_netlink_operations_total,
 * the failed ones also in kipvs_netlink_errors_total with their errno.
 */
static void test_netlink_metrics_by_kind(void **state)
{
	const struct health_config cfg = {
	    .healthz_bind = "off", .metrics_bind = "off", .sync_period_ns = 30000000000LL};
	struct ipvs_node_result res = {.addresses_added = 1};
	static const char *const want[] = {
	    "kipvs_netlink_operations_total{op=\"add_service\"} 2\n",
	    "kipvs_netlink_operations_total{op=\"add_dest\"} 4\n",
	    "kipvs_netlink_operations_total{op=\"del_dest\"} 1\n",
	    "kipvs_netlink_operations_total{op=\"add_address\"} 2\n",
	    "kipvs_netlink_errors_total{op=\"add_dest\",errno=\"EINVAL\"} 2\n",
	    "kipvs_netlink_errors_total{op=\"del_dest\",errno=\"EBUSY\"} 1\n",
	    "kipvs_netlink_errors_total{op=\"add_address\",errno=\"EPERM\"} 1\n",
	};
	struct health *h = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	res.sync.services_added = 2;
	res.sync.dests_added = 2;
	ipvs_failure_note(res.sync.failures, &res.sync.n_failures, "add_dest", -EINVAL);
	ipvs_failure_note(res.sync.failures, &res.sync.n_failures, "del_dest", -EBUSY);
	ipvs_failure_note(res.sync.failures, &res.sync.n_failures, "add_dest", -EINVAL);
	ipvs_failure_note(res.sync.failures, &res.sync.n_failures, "add_address", -EPERM);
	assert_int_equal(res.sync.n_failures, 3);
	assert_int_equal(health_new(EV_DEFAULT, &cfg, &h), 0);
	daemon_netlink_count(h, &res);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(health_metrics_render(h->metrics, out), 0);
	assert_int_equal(fclose(out), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(text, want[i]))
			fail_msg("missing line: %s in\n%s", want[i], text);
	assert_null(strstr(text, "errno=\"EINVAL\"} 1"));
	free(text);
	health_free(h);
}

static int group_setup(void **state)
{
	(void)state;
	devnull = fopen("/dev/null", "w");
	if (!getenv("KIPVS_TEST_LOG"))
		log_set_stream(devnull);
	else
		log_set_verbosity(1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	log_set_stream(NULL);
	(void)fclose(devnull);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_sync_then_ready),
	    cmocka_unit_test(test_change_resynced),
	    cmocka_unit_test(test_policy_change_reaches_the_packet_path),
	    cmocka_unit_test(test_programming_latency_observed),
	    cmocka_unit_test(test_endpoint_change_keeps_the_sets),
	    cmocka_unit_test(test_min_sync_period),
	    cmocka_unit_test(test_failed_sync_backoff),
	    cmocka_unit_test(test_periodic_verification),
	    cmocka_unit_test(test_sigterm_stops_cleanly),
	    cmocka_unit_test(test_sigint_stops_cleanly),
	    cmocka_unit_test(test_in_cluster_empty_table_warning),
	    cmocka_unit_test(test_node_addrs_warning),
	    cmocka_unit_test(test_netlink_metrics_by_kind),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
