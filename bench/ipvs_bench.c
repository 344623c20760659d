/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kipvs side of the programming benchmark (run as root in the test guest): builds the
 * benchmark table as a desired plan table and syncs the kernel to it with kipvs's reconciler,
 * reporting the time of each phase; `rules` prints the same table as `ipvsadm -R` input, and
 * `read` times a full read over netlink (1+N requests) against netlink + /proc/net/ip_vs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipvs_bench_table.h"
#include "ipvs_internal.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int build_plan(struct plan_table *t)
{
	t->vs = calloc(BENCH_SERVICES, sizeof(*t->vs));
	if (!t->vs)
		return -ENOMEM;
	for (int i = 0; i < BENCH_SERVICES; i++) {
		struct plan_vs *vs = &t->vs[t->n_vs++];

		vs->addr.family = AF_INET;
		bench_vip(i, vs->addr.bytes);
		vs->proto = KUBE_PROTO_TCP;
		vs->port = BENCH_PORT;
		strcpy(vs->scheduler, "rr");
		vs->svc_namespace = strdup("bench");
		vs->svc_name = malloc(16);
		vs->dests = calloc(BENCH_DESTS, sizeof(*vs->dests));
		if (!vs->svc_namespace || !vs->svc_name || !vs->dests)
			return -ENOMEM;
		snprintf(vs->svc_name, 16, "svc-%d", i);
		for (int j = 0; j < BENCH_DESTS; j++) {
			vs->dests[j].addr.family = AF_INET;
			bench_rip(i, j, vs->dests[j].addr.bytes);
			vs->dests[j].port = BENCH_RS_PORT;
			vs->dests[j].weight = 1;
		}
		vs->n_dests = BENCH_DESTS;
	}
	return 0;
}

static int cmd_sync(struct ipvs_ctx *ctx)
{
	struct plan_table desired = {0};
	struct ipvs_sync *s = NULL;
	struct ipvs_sync_result res;
	struct ipvs_nl_counters c;
	double t0, t1, t2;
	int r;

	t0 = now_ms();
	r = build_plan(&desired);
	if (r < 0 || ipvs_sync_new(ctx, &s) < 0)
		return 1;
	t1 = now_ms();
	r = ipvs_sync_run(s, &desired, &res);
	t2 = now_ms();
	if (r < 0) {
		fprintf(stderr, "sync failed: %s\n", strerror(-r));
		return 1;
	}
	ipvs_ctx_counters(ctx, &c);
	printf("kipvs sync: services +%u destinations +%u failed %u sendmsg=%llu messages=%llu "
	       "plan %.0f ms, sync %.0f ms = read %.0f + diff %.0f + program %.0f + record %.0f\n",
	       res.services_added, res.dests_added, res.failed, (unsigned long long)c.sendmsg,
	       (unsigned long long)c.messages, t1 - t0, t2 - t1, res.read_ms, res.diff_ms,
	       res.apply_ms, (t2 - t1) - res.read_ms - res.diff_ms - res.apply_ms);
	t1 = now_ms();
	r = ipvs_sync_run(s, &desired, &res);
	printf("kipvs sync again: operations %u, %.0f ms\n", res.operations, now_ms() - t1);
	ipvs_sync_request_verify(s);
	t1 = now_ms();
	r = ipvs_sync_run(s, &desired, &res);
	printf("kipvs verification (full read + diff): operations %u, %.0f ms\n", res.operations,
	       now_ms() - t1);
	ipvs_sync_free(s);
	plan_table_clear(&desired);
	return r < 0 || res.failed ? 1 : 0;
}

/* The diff alone, from empty, to separate kipvs's own work from the kernel's. */
static int cmd_diff(void)
{
	struct plan_table desired = {0};
	struct ipvs_table actual = {0};
	struct ipvs_oplist ops = {0};
	double t0;

	if (build_plan(&desired) < 0)
		return 1;
	t0 = now_ms();
	if (ipvs_diff_compute(&desired, &actual, NULL, NULL, &ops) < 0)
		return 1;
	printf("diff from empty: %zu operations, %.1f ms\n", ops.n, now_ms() - t0);
	ipvs_oplist_clear(&ops);
	plan_table_clear(&desired);
	return 0;
}

static int cmd_rules(void)
{
	struct plan_table desired = {0};
	struct ipvs_table actual = {0};
	struct ipvs_oplist ops = {0};

	if (build_plan(&desired) < 0 || ipvs_diff_compute(&desired, &actual, NULL, NULL, &ops) < 0)
		return 1;
	for (size_t i = 0; i < ops.n; i++)
		ipvs_op_write(&ops.ops[i], stdout);
	ipvs_oplist_clear(&ops);
	plan_table_clear(&desired);
	return 0;
}

static int cmd_read(struct ipvs_ctx *ctx)
{
	for (int procfs = 0; procfs < 2; procfs++) {
		struct ipvs_table t = {0};
		struct ipvs_nl_counters c0, c1;
		double t0 = now_ms(), dt;
		size_t n_rs, n_vs;
		int r;

		ipvs_ctx_counters(ctx, &c0);
		r = procfs ? ipvs_nl_table_read_procfs(ctx, "/proc", &t)
			   : ipvs_nl_table_read(ctx, &t);
		dt = now_ms() - t0;
		ipvs_ctx_counters(ctx, &c1);
		if (r < 0)
			return 1;
		n_vs = ipvs_table_count(&t, &n_rs);
		printf("read %s: services=%zu dests=%zu requests=%llu %.0f ms\n",
		       procfs ? "netlink services + /proc/net/ip_vs" : "netlink (1+N dumps)", n_vs,
		       n_rs, (unsigned long long)(c1.sendmsg - c0.sendmsg), dt);
		ipvs_table_clear(&t);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ipvs_ctx *ctx = NULL;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: ipvs_bench sync|sync-ack-each|diff|rules|read\n");
		return 2;
	}
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules();
	if (strcmp(argv[1], "diff") == 0)
		return cmd_diff();
	r = ipvs_ctx_open(&ctx);
	if (r < 0) {
		fprintf(stderr, "cannot open IPVS netlink: %s\n", strerror(-r));
		return 1;
	}
	if (strcmp(argv[1], "sync-ack-each") == 0)
		ipvs_ctx_set_ack_each(ctx, true);
	if (strncmp(argv[1], "sync", 4) == 0)
		r = cmd_sync(ctx);
	else if (strcmp(argv[1], "read") == 0)
		r = cmd_read(ctx);
	else
		r = 2;
	ipvs_ctx_free(ctx);
	return r;
}
