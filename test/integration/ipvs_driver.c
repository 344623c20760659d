/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test-only driver for the ipvs/ integration tests (runs as root in the test guest): applies
 * `ipvsadm -R` lines through kipvs's own netlink client, runs the reconciler, and dumps the
 * table back with stats, so the shell tests can check the kernel with ipvsadm. Not shipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "ipvs_internal.h"
#include "log.h"

static const char *errname(int err)
{
	const char *n = err ? strerrorname_np(-err) : "0";

	return n ? n : "?";
}

static char *read_all(FILE *f)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap + (1 << 20));

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap += 1 << 20;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	return buf;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void print_counters(struct ipvs_ctx *ctx)
{
	struct ipvs_nl_counters c;

	ipvs_ctx_counters(ctx, &c);
	printf("counters sendmsg=%llu messages=%llu lost_replies=%llu\n",
	       (unsigned long long)c.sendmsg, (unsigned long long)c.messages,
	       (unsigned long long)c.lost_replies);
}

/* apply: each line an operation, all in one apply() (batched); one result line per op. */
static int cmd_apply(struct ipvs_ctx *ctx, bool quiet)
{
	_cleanup_free_ char *text = read_all(stdin);
	struct ipvs_oplist ops = {0};
	int r, failed = 0;

	if (!text || ipvs_rules_parse(text, &ops) < 0) {
		fprintf(stderr, "ipvs_driver: bad rules on stdin\n");
		return 2;
	}
	r = ipvs_nl_ops.apply(ctx, ops.ops, ops.n, NULL);
	printf("apply r=%s\n", errname(r));
	for (size_t i = 0; i < ops.n; i++) {
		if (ops.ops[i].err)
			failed++;
		if (quiet && !ops.ops[i].err)
			continue;
		printf("%s ", errname(ops.ops[i].err));
		ipvs_op_write(&ops.ops[i], stdout);
	}
	printf("failed=%d\n", failed);
	print_counters(ctx);
	ipvs_oplist_clear(&ops);
	return r < 0 && r != -ENOBUFS ? 1 : 0;
}

/*
 * sync: stdin holds desired tables as -A/-a lines, separated by lines "---"; one reconciler
 * (which reads the kernel first) syncs to each in turn, `runs` times each.
 */
static int cmd_sync(struct ipvs_ctx *ctx, int runs)
{
	_cleanup_free_ char *text = read_all(stdin);
	struct ipvs_sync *s = NULL;
	char *part, *rest;
	int r = 0;

	if (!text || ipvs_sync_new(ctx, &s) < 0)
		return 1;
	for (part = text; part && r >= 0; part = rest) {
		struct ipvs_oplist ops = {0};
		struct plan_table desired = {0};

		rest = strstr(part, "\n---\n");
		if (rest) {
			*rest = '\0';
			rest += 5;
		} else if (strncmp(part, "---\n", 4) == 0) {
			rest = part + 4;
			*part = '\0';
		}
		if (ipvs_rules_parse(part, &ops) < 0 || ipvs_rules_to_plan(&ops, &desired) < 0) {
			fprintf(stderr, "ipvs_driver: bad desired rules on stdin\n");
			r = -EINVAL;
		}
		for (int i = 0; i < runs && r >= 0; i++) {
			struct ipvs_sync_result res;
			double t0 = now_ms();

			r = ipvs_sync_run(s, &desired, &res);
			if (r < 0) {
				fprintf(stderr, "ipvs_driver: sync failed: %s\n", strerror(-r));
				break;
			}
			printf("sync: services +%u ~%u -%u, destinations +%u ~%u -%u, failed %u, "
			       "repaired %u, verified %d, took %.0f ms\n",
			       res.services_added, res.services_changed, res.services_deleted,
			       res.dests_added, res.dests_changed, res.dests_deleted, res.failed,
			       res.repaired, res.verified, now_ms() - t0);
			if (res.failed)
				r = -EIO;
		}
		plan_table_clear(&desired);
		ipvs_oplist_clear(&ops);
	}
	print_counters(ctx);
	ipvs_sync_free(s);
	return r < 0 ? 1 : 0;
}

/* dump: the table as -A/-a lines, each real server followed by its counters. */
static int cmd_dump(struct ipvs_ctx *ctx, bool procfs, bool stats)
{
	struct ipvs_table t = {0};
	struct ipvs_vs *vs, *tmp;
	struct ipvs_rs *rs, *rtmp;
	int r = procfs ? ipvs_nl_table_read_procfs(ctx, "/proc", &t) : ipvs_nl_table_read(ctx, &t);

	if (r < 0) {
		fprintf(stderr, "ipvs_driver: read failed: %s\n", strerror(-r));
		return 1;
	}
	ipvs_table_sort(&t);
	HASH_ITER(hh, t.vs, vs, tmp)
	{
		struct ipvs_op op = {.kind = IPVS_OP_SERVICE_ADD, .svc = vs->svc};

		ipvs_op_write(&op, stdout);
		if (stats)
			printf("  stats conns=%llu inpkts=%llu outpkts=%llu inbytes=%llu\n",
			       (unsigned long long)vs->stats.conns,
			       (unsigned long long)vs->stats.inpkts,
			       (unsigned long long)vs->stats.outpkts,
			       (unsigned long long)vs->stats.inbytes);
		HASH_ITER(hh, vs->rs, rs, rtmp)
		{
			struct ipvs_op dop = {
			    .kind = IPVS_OP_DEST_ADD, .svc = vs->svc, .dest = rs->dest};

			ipvs_op_write(&dop, stdout);
			if (stats)
				printf("  conns active=%u inactive=%u persist=%u total=%llu "
				       "inpkts=%llu\n",
				       rs->state.active_conns, rs->state.inact_conns,
				       rs->state.persist_conns,
				       (unsigned long long)rs->state.stats.conns,
				       (unsigned long long)rs->state.stats.inpkts);
		}
	}
	ipvs_table_clear(&t);
	return 0;
}

static int cmd_info(struct ipvs_ctx *ctx)
{
	uint32_t version, size, tcp, fin, udp;

	if (ipvs_info_get(ctx, &version, &size) < 0 || ipvs_timeouts_get(ctx, &tcp, &fin, &udp) < 0)
		return 1;
	printf("version=%u.%u.%u conn_tab_size=%u\n", version >> 16, (version >> 8) & 0xff,
	       version & 0xff, size);
	printf("timeouts tcp=%u tcpfin=%u udp=%u\n", tcp, fin, udp);
	return 0;
}

/* vip IFNAME [--remove-link] ADDR...: binds exactly ADDR... on IFNAME (created if missing). */
static int cmd_vip(int argc, char **argv)
{
	_cleanup_free_ struct net_addr *want = calloc((size_t)argc + 1, sizeof(*want));
	struct ipvs_vip *v = NULL;
	bool remove_link = false;
	unsigned added = 0, removed = 0;
	size_t n = 0;
	int r;

	if (argc < 1 || !want)
		return 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--remove-link") == 0)
			remove_link = true;
		else if (net_addr_parse(argv[i], &want[n++]) < 0)
			return 2;
	}
	r = ipvs_vip_open(argv[0], &v);
	if (r < 0) {
		fprintf(stderr, "ipvs_driver: vip open %s: %s\n", argv[0], strerror(-r));
		return 1;
	}
	printf("vip: created=%d bound_before=%zu\n", ipvs_vip_created_link(v), ipvs_vip_count(v));
	r = ipvs_vip_sync(v, want, n, &added, &removed);
	printf("vip: addresses +%u -%u, bound=%zu err=%s\n", added, removed, ipvs_vip_count(v),
	       errname(r));
	if (r >= 0 && remove_link) {
		r = ipvs_vip_remove_link(v);
		printf("vip: remove-link err=%s\n", errname(r));
	}
	ipvs_vip_free(v);
	return r < 0 ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: ipvs_driver apply [--quiet] [--batch-limit BYTES] [--ack-each] "
			"[--rcvbuf BYTES] < rules\n"
			"       ipvs_driver sync [--runs N] < desired -A/-a rules\n"
			"       ipvs_driver dump [--procfs] [--stats]\n"
			"       ipvs_driver info | timeouts TCP TCPFIN UDP\n"
			"       ipvs_driver vip IFNAME [--remove-link] ADDR...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ipvs_ctx *ctx = NULL;
	bool quiet = false, procfs = false, stats = false;
	int r, runs = 1;

	if (argc < 2)
		return usage();
	if (getenv("KIPVS_DEBUG"))
		log_set_verbosity(1);
	if (strcmp(argv[1], "vip") == 0)
		return cmd_vip(argc - 2, argv + 2);
	r = ipvs_ctx_open(&ctx);
	if (r < 0) {
		fprintf(stderr, "ipvs_driver: cannot open IPVS netlink: %s\n", strerror(-r));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else if (strcmp(argv[i], "--procfs") == 0)
			procfs = true;
		else if (strcmp(argv[i], "--stats") == 0)
			stats = true;
		else if (strcmp(argv[i], "--ack-each") == 0)
			ipvs_ctx_set_ack_each(ctx, true);
		else if (strcmp(argv[i], "--batch-limit") == 0 && i + 1 < argc)
			ipvs_ctx_set_batch_limit(ctx, strtoul(argv[++i], NULL, 10));
		else if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc) {
			if (ipvs_ctx_set_rcvbuf(ctx, atoi(argv[++i])) < 0)
				fprintf(stderr, "ipvs_driver: cannot set the receive buffer\n");
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[1], "timeouts") != 0) {
			ipvs_ctx_free(ctx);
			return usage();
		}
	}
	if (strcmp(argv[1], "apply") == 0)
		r = cmd_apply(ctx, quiet);
	else if (strcmp(argv[1], "sync") == 0)
		r = cmd_sync(ctx, runs);
	else if (strcmp(argv[1], "dump") == 0)
		r = cmd_dump(ctx, procfs, stats);
	else if (strcmp(argv[1], "info") == 0)
		r = cmd_info(ctx);
	else if (strcmp(argv[1], "timeouts") == 0 && argc == 5)
		r = ipvs_timeouts_set(ctx, (uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
				      (uint32_t)atoi(argv[4])) < 0
			? 1
			: cmd_info(ctx);
	else
		r = usage();
	ipvs_ctx_free(ctx);
	return r;
}
