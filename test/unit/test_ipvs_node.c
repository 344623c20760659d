/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ipvs/ipvs_node.c and ipvs_state.c against the fake kernel: draining decisions
 * step by step (drain, keep, come back, idle, expired, UDP at once, a deleted Service's VS),
 * the sweep, drain records surviving a restart through the state file, ownership from the
 * state file, the state file's text, the address sets and the state's dirty flag, the summary
 * line, and what ipvs_node_open() says when modprobe cannot load IPVS (a fake modprobe first on
 * PATH, a fake proc root).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "test_ipvs_util.h"

#define VS "-A -t 10.96.0.10:80 -s rr\n"
#define RA "-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 1\n"
#define RB "-a -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1\n"
#define US "-A -u 10.96.0.11:53 -s rr\n"
#define UA "-a -u 10.96.0.11:53 -r 10.244.1.2:53 -m -w 1\n"
#define UB "-a -u 10.96.0.11:53 -r 10.244.2.2:53 -m -w 1\n"
#define MIN 60000

static uint64_t test_clock;
static uint64_t test_now(void)
{
	return test_clock;
}

/* One step: set counters, advance the clock, sync (or sweep), compare the ops sent. */
struct step {
	const char *conns; /* "10.244.2.2:8080=3" pairs on the VS "vs" below, or NULL */
	const char *vs;	   /* "10.96.0.10:80/tcp" */
	uint64_t advance_ms;
	const char *desired; /* NULL: sweep instead of sync */
	const char *want_ops;
	unsigned want_draining;
	bool restart; /* free the node and open a new one on the same state dir first */
};

struct node_case {
	const char *name;
	const char *base; /* the first sync (creates everything) */
	struct step steps[5];
};

static const struct node_case cases[] = {
	{ "busy tcp real server drains, then is deleted once idle",
	  VS RA RB,
	  { { "10.244.2.2:8080=1", "10.96.0.10:80/tcp", 0, VS RA,
	      "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n", 1, false },
	    { NULL, NULL, 1000, VS RA, "", 1, false },
	    { "10.244.2.2:8080=0", "10.96.0.10:80/tcp", 1000, VS RA,
	      "-d -t 10.96.0.10:80 -r 10.244.2.2:8080\n", 0, false } } },
	{ "idle tcp real server is deleted at once",
	  VS RA RB,
	  { { NULL, NULL, 0, VS RA, "-d -t 10.96.0.10:80 -r 10.244.2.2:8080\n", 0, false } } },
	{ "udp real server is deleted at once even with connections",
	  US UA UB,
	  { { "10.244.2.2:53=5", "10.96.0.11:53/udp", 0, US UA,
	      "-d -u 10.96.0.11:53 -r 10.244.2.2:53\n", 0, false } } },
	{ "a drainer that comes back gets its weight with a SET",
	  VS RA RB,
	  { { "10.244.2.2:8080=1", "10.96.0.10:80/tcp", 0, VS RA,
	      "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n", 1, false },
	    { NULL, NULL, 1000, VS RA RB, "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1\n", 0,
	      false } } },
	{ "a drainer expires after the drain timeout",
	  VS RA RB,
	  { { "10.244.2.2:8080=1", "10.96.0.10:80/tcp", 0, VS RA,
	      "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n", 1, false },
	    { NULL, NULL, 5 * MIN - 1, VS RA, "", 1, false },
	    { NULL, NULL, 1, VS RA, "-d -t 10.96.0.10:80 -r 10.244.2.2:8080\n", 0, false } } },
	{ "a deleted Service's VS stays while a real server drains, then goes in the sweep",
	  VS RA RB,
	  { { "10.244.2.2:8080=1", "10.96.0.10:80/tcp", 0, "",
	      "-d -t 10.96.0.10:80 -r 10.244.1.2:8080\n"
	      "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n",
	      1, false },
	    { NULL, NULL, 1000, NULL, "", 1, false },
	    { "10.244.2.2:8080=0", "10.96.0.10:80/tcp", 1000, NULL, "-D -t 10.96.0.10:80\n", 0,
	      false } } },
	{ "an idle deleted Service's VS goes at once",
	  VS RA RB,
	  { { NULL, NULL, 0, "", "-D -t 10.96.0.10:80\n", 0, false } } },
	{ "a restart keeps the drain and its start time (state file)",
	  VS RA RB,
	  { { "10.244.2.2:8080=1", "10.96.0.10:80/tcp", 0, VS RA,
	      "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n", 1, false },
	    { NULL, NULL, 4 * MIN, VS RA, "", 1, true },
	    { NULL, NULL, MIN, VS RA, "-d -t 10.96.0.10:80 -r 10.244.2.2:8080\n", 0, false } } },
	{ "after a restart, a VS it created and no longer desired is still its own",
	  VS RA US UA,
	  { { NULL, NULL, 0, VS RA, "-D -u 10.96.0.11:53\n", 0, true } } },
};

static void set_conns(struct ipvs_fake *fake, const char *vs_name, const char *spec,
		      const char *case_name)
{
	struct ipvs_vs *vs, *tmp;
	char key[IPVS_KEY_STRLEN], want[64];
	unsigned n;

	HASH_ITER(hh, fake->table.vs, vs, tmp)
	{
		if (strcmp(ipvs_key_format(&vs->svc.key, key), vs_name) != 0)
			continue;
		if (sscanf(spec, "%63[^=]=%u", want, &n) != 2)
			fail_msg("case \"%s\": bad conns spec %s", case_name, spec);
		struct ipvs_rs *rs, *rtmp;
		HASH_ITER(hh, vs->rs, rs, rtmp)
		{
			if (strcmp(ipvs_key_format(&rs->dest.key, key), want) == 0) {
				rs->state.active_conns = n;
				return;
			}
		}
	}
	fail_msg("case \"%s\": no %s in %s", case_name, spec, vs_name);
}

static void node_open(struct ipvs_fake *fake, const char *dir, struct ipvs_node **ret)
{
	const struct ipvs_node_config cfg = {
		.state_dir = dir,
		.dummy_ifname = "kube-ipvs0",
		.drain_timeout_ms = 5 * MIN,
	};

	assert_int_equal(ipvs_node_new_with_ops(&cfg, &ipvs_fake_ops, fake, test_now, ret), 0);
}

static void test_drain_steps(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct node_case *tc = &cases[c];
		char dir[] = "/tmp/test_ipvs_node.XXXXXX", path[256];
		struct ipvs_fake fake;
		struct ipvs_node *node = NULL;
		struct plan_table desired = { 0 };
		struct ipvs_node_result res;

		assert_non_null(mkdtemp(dir));
		test_clock = 1700000000000ull;
		ipvs_fake_init(&fake);
		node_open(&fake, dir, &node);
		test_plan_from_rules(tc->base, &desired);
		assert_int_equal(ipvs_node_sync(node, &desired, &res), 0);
		plan_table_clear(&desired);
		for (size_t s = 0; s < 5 && tc->steps[s].want_ops; s++) {
			const struct step *st = &tc->steps[s];
			char name[256], *got;

			snprintf(name, sizeof(name), "%s, step %zu", tc->name, s + 1);
			if (st->restart) {
				node = ipvs_node_free(node);
				node_open(&fake, dir, &node);
			}
			if (st->conns)
				set_conns(&fake, st->vs, st->conns, name);
			test_clock += st->advance_ms;
			ipvs_oplist_clear(&fake.log);
			if (st->desired) {
				if (st->desired[0])
					test_plan_from_rules(st->desired, &desired);
				if (ipvs_node_sync(node, &desired, &res) != 0)
					fail_msg("case \"%s\": sync failed", name);
				if (!ipvs_node_matches(node, &desired))
					fail_msg("case \"%s\": kernel does not match after the sync",
						 name);
				plan_table_clear(&desired);
			} else if (ipvs_node_drain_sweep(node, &res) != 0) {
				fail_msg("case \"%s\": sweep failed", name);
			}
			got = test_ops_text(fake.log.ops, fake.log.n);
			test_assert_text(name, got ? got : "", st->want_ops);
			free(got);
			if (ipvs_node_draining_count(node) != st->want_draining ||
			    res.draining != st->want_draining)
				fail_msg("case \"%s\": draining %u (result %u), want %u", name,
					 ipvs_node_draining_count(node), res.draining,
					 st->want_draining);
		}
		node = ipvs_node_free(node);
		ipvs_fake_clear(&fake);
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		assert_int_equal(system(path), 0);
	}
}

/* The fake kernel's real server rs of the virtual server vs (both as ipvs_key_format() says). */
static struct ipvs_rs *fake_rs(struct ipvs_fake *fake, const char *vs_name, const char *rs_name)
{
	struct ipvs_vs *vs, *tmp;
	struct ipvs_rs *rs, *rtmp;
	char key[IPVS_KEY_STRLEN];

	HASH_ITER(hh, fake->table.vs, vs, tmp)
	{
		if (strcmp(ipvs_key_format(&vs->svc.key, key), vs_name) != 0)
			continue;
		HASH_ITER(hh, vs->rs, rs, rtmp)
		{
			if (strcmp(ipvs_key_format(&rs->dest.key, key), rs_name) == 0)
				return rs;
		}
	}
	fail_msg("no real server %s in %s", rs_name, vs_name);
	return NULL;
}

/* A sync of the same desired table after a verification request: its ops as text. */
static char *resync_ops(struct ipvs_fake *fake, struct ipvs_node *node,
			const struct plan_table *desired)
{
	struct ipvs_node_result res;

	ipvs_oplist_clear(&fake->log);
	assert_int_equal(ipvs_node_sync(node, desired, &res), 0);
	return test_ops_text(fake->log.ops, fake->log.n);
}

/*
 * The verification of an unchanged table (ipvs_node_check_only()): only reads while the kernel
 * is as the last sync left it; drift it reads (a weight, a deleted VS) and a last sync that
 * failed send the caller to a full sync, which repairs it.
 */
static void test_check_only(void **state)
{
	char dir[] = "/tmp/test_ipvs_node.XXXXXX", cmd[256], *got;
	struct plan_table desired = {0};
	struct ipvs_node *node = NULL;
	struct ipvs_node_result res;
	struct ipvs_fake fake;
	struct ipvs_key key;
	struct net_addr vip;
	bool drift = false;
	size_t reads;

	(void)state;
	assert_non_null(mkdtemp(dir));
	ipvs_fake_init(&fake);
	node_open(&fake, dir, &node);
	test_plan_from_rules(VS RA RB, &desired);
	assert_int_equal(ipvs_node_check_only(node, &drift, &res), 0);
	assert_true(drift); /* no sync yet: nothing to compare with */
	assert_int_equal(ipvs_node_sync(node, &desired, &res), 0);

	ipvs_node_request_verify(node);
	ipvs_oplist_clear(&fake.log);
	reads = fake.n_read_one;
	assert_int_equal(ipvs_node_check_only(node, &drift, &res), 0);
	assert_false(drift);
	assert_int_equal(fake.log.n, 0);
	assert_true(fake.n_read_one > reads); /* one VS is one slice: its real servers were read */
	assert_int_equal(ipvs_node_check_only(node, &drift, &res), 0);
	assert_false(drift); /* no verification asked for: nothing read, nothing found */

	fake_rs(&fake, "10.96.0.10:80/tcp", "10.244.2.2:8080")->dest.weight = 5;
	ipvs_node_request_verify(node);
	assert_int_equal(ipvs_node_check_only(node, &drift, &res), 0);
	assert_true(drift);
	got = resync_ops(&fake, node, &desired);
	test_assert_text("a weight set by hand", got, "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1\n");
	free(got);

	assert_int_equal(net_addr_parse("10.96.0.10", &vip), 0);
	ipvs_key_init(&key, &vip, 80, IPPROTO_TCP);
	ipvs_table_del(&fake.table, &key);
	ipvs_node_request_verify(node);
	assert_int_equal(ipvs_node_check_only(node, &drift, &res), 0);
	assert_true(drift);
	got = resync_ops(&fake, node, &desired);
	test_assert_text("a virtual server deleted by hand", got, VS RA RB);
	free(got);

	/* The repair's one op fails (the log is empty before it): that sync is not clean. */
	ipvs_oplist_clear(&fake.log);
	fake.fail_at = 0;
	fake.fail_err = -ENOMEM;
	fake_rs(&fake, "10.96.0.10:80/tcp", "10.244.2.2:8080")->dest.weight = 7;
	ipvs_node_request_verify(node);
	assert_int_equal(ipvs_node_sync(node, &desired, &res), 0);
	assert_int_equal(res.sync.failed, 1);
	fake.fail_at = -1;
	reads = fake.n_read_one;
	assert_int_equal(ipvs_node_check_only(node, &drift, &res), 0);
	assert_true(drift);
	assert_int_equal(fake.n_read_one, reads); /* decided without reading */
	got = resync_ops(&fake, node, &desired);
	test_assert_text("after a failed operation", got, "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 1\n");
	free(got);

	plan_table_clear(&desired);
	node = ipvs_node_free(node);
	ipvs_fake_clear(&fake);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * ipvs_node_sync_part(): only the part's virtual servers are diffed (a change elsewhere in
 * desired waits for a full sync), a drain record outside the part survives, and a pending
 * verification makes it a full sync.
 */
static void test_sync_part(void **state)
{
	char dir[] = "/tmp/test_ipvs_node.XXXXXX", cmd[256], *got;
	struct plan_table desired = {0}, part = {0};
	struct ipvs_node *node = NULL;
	struct ipvs_node_result res;
	struct ipvs_fake fake;

	(void)state;
	assert_non_null(mkdtemp(dir));
	test_clock = 1700000000000ull;
	ipvs_fake_init(&fake);
	node_open(&fake, dir, &node);
	test_plan_from_rules(VS RA RB US UA, &desired);
	assert_int_equal(ipvs_node_sync(node, &desired, &res), 0);
	plan_table_clear(&desired);
	/* RB is busy and leaves: it drains (a full sync). */
	set_conns(&fake, "10.96.0.10:80/tcp", "10.244.2.2:8080=1", "part");
	test_plan_from_rules(VS RA US UA, &desired);
	got = resync_ops(&fake, node, &desired);
	test_assert_text("drain", got, "-e -t 10.96.0.10:80 -r 10.244.2.2:8080 -m -w 0\n");
	free(got);
	plan_table_clear(&desired);

	/* UB joins the UDP Service, RA's weight changes too, but the part is the UDP one only. */
	test_plan_from_rules("-A -t 10.96.0.10:80 -s rr\n"
			     "-a -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 3\n" US UA UB,
			     &desired);
	test_plan_from_rules(US UA UB, &part);
	ipvs_oplist_clear(&fake.log);
	assert_int_equal(ipvs_node_sync_part(node, &desired, &part, &res), 0);
	got = test_ops_text(fake.log.ops, fake.log.n);
	test_assert_text("the part only", got, "-a -u 10.96.0.11:53 -r 10.244.2.2:53 -m -w 1\n");
	free(got);
	assert_int_equal(ipvs_node_draining_count(node), 1); /* RB's record is kept */

	/* A verification is due: the same call is a full sync, RA's weight comes with it. */
	ipvs_node_request_verify(node);
	ipvs_oplist_clear(&fake.log);
	assert_int_equal(ipvs_node_sync_part(node, &desired, &part, &res), 0);
	got = test_ops_text(fake.log.ops, fake.log.n);
	test_assert_text("full after a verification request", got,
			 "-e -t 10.96.0.10:80 -r 10.244.1.2:8080 -m -w 3\n");
	free(got);
	assert_int_equal(ipvs_node_draining_count(node), 1);

	plan_table_clear(&desired);
	plan_table_clear(&part);
	node = ipvs_node_free(node);
	ipvs_fake_clear(&fake);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The state file's text: written, read back, written again identically; bad lines refused. */
static void test_state_text(void **state)
{
	const char *text = "kipvs-ipvs-state 1\n"
			   "interface kube-ipvs0 created\n"
			   "vs tcp 10.96.0.10 80\n"
			   "vs udp fd00::a 53\n"
			   "addr 10.96.0.10\n"
			   "drain tcp 10.96.0.10 80 10.244.2.2 8080 1700000000000\n";
	static const struct {
		const char *name, *text;
		unsigned bad_line;
	} bad[] = {
		{ "no magic", "vs tcp 10.0.0.1 80\n", 1 },
		{ "newer version", "kipvs-ipvs-state 2\n", 1 },
		{ "bad protocol", "kipvs-ipvs-state 1\nvs icmp 10.0.0.1 80\n", 2 },
		{ "bad port", "kipvs-ipvs-state 1\nvs tcp 10.0.0.1 70000\n", 2 },
		{ "bad address", "kipvs-ipvs-state 1\naddr 10.0.0\n", 2 },
		{ "unknown record", "kipvs-ipvs-state 1\nfrob\n", 2 },
		{ "bad time", "kipvs-ipvs-state 1\ndrain tcp 10.0.0.1 80 10.1.1.1 80 x\n", 2 },
	};
	struct ipvs_state st;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;
	unsigned line = 0;

	(void)state;
	assert_int_equal(ipvs_state_init(&st, "/nonexistent", NULL), 0);
	f = fmemopen((void *)text, strlen(text), "r");
	assert_int_equal(ipvs_state_parse(&st, f, &line), 0);
	fclose(f);
	assert_int_equal(st.n_vs, 2);
	assert_true(st.link_created);
	assert_int_equal(HASH_COUNT(st.drains), 1);
	f = open_memstream(&buf, &len);
	assert_int_equal(ipvs_state_write(&st, NULL, f), 0);
	fclose(f);
	/* Without a sync the vs lines are not written; everything else is. */
	assert_non_null(strstr(buf, "interface kube-ipvs0 created\n"));
	assert_non_null(strstr(buf, "addr 10.96.0.10\n"));
	assert_non_null(strstr(buf, "drain tcp 10.96.0.10 80 10.244.2.2 8080 1700000000000\n"));
	free(buf);
	ipvs_state_clear(&st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ipvs_state_init(&st, "/nonexistent", NULL), 0);
		f = fmemopen((void *)bad[i].text, strlen(bad[i].text), "r");
		line = 0;
		if (ipvs_state_parse(&st, f, &line) != -EBADMSG || line != bad[i].bad_line)
			fail_msg("case \"%s\": accepted, or wrong line %u", bad[i].name, line);
		fclose(f);
		ipvs_state_clear(&st);
	}
}

/* The address sets (ipvs_state_addrset_*) and the state's bound set over them: dirty on change. */
static void test_state_addrs(void **state)
{
	static const struct {
		const char *name;
		char op; /* 'a': addrset_add on a working set, 'A': addr_add, 'D': addr_del */
		const char *addr;
		int want_r;	 /* 'a' only */
		bool want_dirty; /* 'A'/'D' only: the state changed */
		unsigned want_n; /* entries in the set after the step */
	} steps[] = {
	    {"new IPv4 added", 'a', "10.96.0.10", 1, false, 1},
	    {"same IPv4 again", 'a', "10.96.0.10", 0, false, 1},
	    {"IPv6 added", 'a', "fd00::a", 1, false, 2},
	    {"IPv4 of another value", 'a', "10.96.0.11", 1, false, 3},
	    {"state: new address is dirty", 'A', "10.96.0.10", 0, true, 1},
	    {"state: same address is not", 'A', "10.96.0.10", 0, false, 1},
	    {"state: absent delete is not", 'D', "10.96.0.99", 0, false, 1},
	    {"state: delete is dirty", 'D', "10.96.0.10", 0, true, 0},
	};
	struct ipvs_state_addr *set = NULL;
	struct ipvs_state st;

	(void)state;
	assert_int_equal(ipvs_state_init(&st, "/nonexistent", NULL), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct net_addr a;
		unsigned n;
		int r = 0;

		assert_int_equal(net_addr_parse(steps[i].addr, &a), 0);
		st.dirty = false;
		switch (steps[i].op) {
		case 'a':
			r = ipvs_state_addrset_add(&set, &a);
			n = HASH_COUNT(set);
			if (!ipvs_state_addrset_find(set, &a))
				fail_msg("step \"%s\": %s not found after add", steps[i].name,
					 steps[i].addr);
			break;
		case 'A':
			r = ipvs_state_addr_add(&st, &a);
			n = HASH_COUNT(st.addrs);
			if (!ipvs_state_addr_has(&st, &a))
				fail_msg("step \"%s\": %s not held after add", steps[i].name,
					 steps[i].addr);
			break;
		default:
			ipvs_state_addr_del(&st, &a);
			n = HASH_COUNT(st.addrs);
			if (ipvs_state_addr_has(&st, &a))
				fail_msg("step \"%s\": %s still held after delete", steps[i].name,
					 steps[i].addr);
			break;
		}
		if (r != steps[i].want_r || st.dirty != steps[i].want_dirty || n != steps[i].want_n)
			fail_msg("step \"%s\": returned %d dirty %d count %u, want %d %d %u",
				 steps[i].name, r, st.dirty, n, steps[i].want_r,
				 steps[i].want_dirty, steps[i].want_n);
	}
	ipvs_state_addrset_clear(&set);
	assert_null(set);
	ipvs_state_clear(&st);
}

static void test_result_format(void **state)
{
	struct ipvs_node_result r = { 0 };
	char buf[256];

	(void)state;
	ipvs_node_result_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "sync: services +0 ~0 -0, destinations +0 ~0 -0, addresses +0 -0, "
				 "draining 0, took 0 ms");
	r.sync.services_added = 1;
	r.sync.services_changed = 2;
	r.sync.services_deleted = 3;
	r.sync.dests_added = 4;
	r.sync.dests_changed = 5;
	r.sync.dests_deleted = 6;
	r.addresses_added = 7;
	r.addresses_deleted = 8;
	r.draining = 9;
	r.took_ms = 12.6;
	ipvs_node_result_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "sync: services +1 ~2 -3, destinations +4 ~5 -6, addresses +7 -8, "
				 "draining 9, took 13 ms");
}

/* A fake modprobe: a shell script body ("" = none on PATH); PROC in it is the proc root. */
struct modprobe_case {
	const char *name;
	const char *script;
	const char *want; /* the message, PROC the proc root */
};

/* Copies tmpl into buf with each "PROC" replaced by proc. */
static void subst_proc(const char *tmpl, const char *proc, char *buf, size_t size)
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 1 < size; p++) {
		if (strncmp(p, "PROC", 4) == 0) {
			n += (size_t)snprintf(buf + n, size - n, "%s", proc);
			p += 3;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n < size ? n : size - 1] = 0;
}

static const struct modprobe_case modprobe_cases[] = {
    {"modprobe fails", "exit 1",
     "IPVS is not available: PROC/net/ip_vs is missing and `modprobe ip_vs` failed; the kernel "
     "needs CONFIG_IP_VS or the ip_vs module"},
    {"modprobe succeeds but no ip_vs appears", "exit 0",
     "IPVS is not available: PROC/net/ip_vs is missing and `modprobe ip_vs` did not create it; "
     "the kernel needs CONFIG_IP_VS or the ip_vs module"},
    {"no modprobe on PATH", "",
     "IPVS is not available: PROC/net/ip_vs is missing and `modprobe ip_vs` could not run: No "
     "such file or directory; the kernel needs CONFIG_IP_VS or the ip_vs module"},
};

static void test_open_modprobe_messages(void **state)
{
	char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

	(void)state;
	for (size_t c = 0; c < sizeof(modprobe_cases) / sizeof(modprobe_cases[0]); c++) {
		const struct modprobe_case *tc = &modprobe_cases[c];
		char dir[] = "/tmp/test_ipvs_modprobe.XXXXXX", bin[64], proc[64], script[128];
		char body[512], want[512], err[512] = "", cmd[300];
		struct ipvs_node_config cfg = {0};
		struct ipvs_node *node = NULL;
		int r;

		assert_non_null(mkdtemp(dir));
		snprintf(bin, sizeof(bin), "%s/bin", dir);
		snprintf(proc, sizeof(proc), "%s/proc", dir);
		assert_int_equal(mkdir(bin, 0755), 0);
		assert_int_equal(mkdir(proc, 0755), 0);
		if (*tc->script) {
			FILE *f;

			snprintf(script, sizeof(script), "%s/modprobe", bin);
			subst_proc(tc->script, proc, body, sizeof(body));
			f = fopen(script, "w");
			assert_non_null(f);
			fprintf(f, "#!/bin/sh\n%s\n", body);
			assert_int_equal(fclose(f), 0);
			assert_int_equal(chmod(script, 0755), 0);
		}
		assert_int_equal(setenv("PATH", bin, 1), 0);
		cfg.proc_root = proc;
		cfg.state_dir = dir;
		cfg.scheduler = "sh";
		r = ipvs_node_open(&cfg, &node, err, sizeof(err));
		if (old_path)
			assert_int_equal(setenv("PATH", old_path, 1), 0);
		subst_proc(tc->want, proc, want, sizeof(want));
		if (r != -ENOENT || strcmp(err, want) != 0)
			fail_msg("case '%s': r=%d err='%s', want -ENOENT and '%s'", tc->name, r,
				 err, want);
		assert_null(node);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
	free(old_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_steps),
		cmocka_unit_test(test_check_only),
		cmocka_unit_test(test_sync_part),
		cmocka_unit_test(test_state_text),
		cmocka_unit_test(test_state_addrs),
		cmocka_unit_test(test_result_format),
		cmocka_unit_test(test_open_modprobe_messages),
	};

	log_set_verbosity(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
