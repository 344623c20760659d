/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ipvs/ipvs_sync.c against the fake kernel: the exact operation sequence sent,
 * the handling of EEXIST, ESRCH, ENOENT and other errors, lost replies, ownership and adoption.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "test_ipvs_util.h"

#define S1 "-A -t 10.0.0.1:80 -s rr\n"
#define S1_R1 "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n"
#define S1_R2 "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 1\n"
#define S2 "-A -u 10.0.0.2:53 -s rr\n"
#define S2_R1 "-a -u 10.0.0.2:53 -r 10.1.0.3:53 -m -w 1\n"

struct fixture {
	struct ipvs_fake fake;
	struct ipvs_sync *sync;
	struct plan_table desired;
	struct ipvs_sync_result res;
	char *log_buf;
	size_t log_len;
	FILE *log;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	ipvs_fake_init(&fx->fake);
	assert_int_equal(ipvs_sync_new_with_ops(&ipvs_fake_ops, &fx->fake, &fx->sync), 0);
	fx->log = open_memstream(&fx->log_buf, &fx->log_len);
	log_set_stream(fx->log);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	log_set_stream(NULL);
	fclose(fx->log);
	free(fx->log_buf);
	ipvs_sync_free(fx->sync);
	ipvs_fake_clear(&fx->fake);
	plan_table_clear(&fx->desired);
	free(fx);
	return 0;
}

static void set_desired(struct fixture *fx, const char *rules)
{
	plan_table_clear(&fx->desired);
	test_plan_from_rules(rules, &fx->desired);
}

/* Runs one sync and returns the ops the fake saw during it, as text (free it). */
static char *run(struct fixture *fx)
{
	size_t before = fx->fake.log.n;

	memset(&fx->res, 0, sizeof(fx->res));
	assert_int_equal(ipvs_sync_run(fx->sync, &fx->desired, &fx->res), 0);
	return test_ops_text(fx->fake.log.ops + before, fx->fake.log.n - before);
}

static void expect_run(struct fixture *fx, const char *name, const char *want_ops)
{
	char *got = run(fx);

	test_assert_text(name, got, want_ops);
	free(got);
}

static void expect_kernel(struct fixture *fx, const char *name, const char *want_rules)
{
	struct ipvs_table want = {0};
	char *got = test_table_text(&fx->fake.table), *w;

	test_table_from_rules(want_rules, &want);
	w = test_table_text(&want);
	test_assert_text(name, got, w);
	free(got);
	free(w);
	ipvs_table_clear(&want);
}

static void test_sync_from_empty_then_idempotent(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1 S1_R2 S2 S2_R1);
	expect_run(fx, "first sync", S1 S1_R1 S1_R2 S2 S2_R1);
	assert_true(fx->res.verified);
	assert_int_equal(fx->res.services_added, 2);
	assert_int_equal(fx->res.dests_added, 3);
	assert_int_equal(fx->fake.n_apply, 1); /* one batch */
	assert_int_equal(fx->res.batches, 1);
	expect_run(fx, "second sync changes nothing", "");
	assert_false(fx->res.verified); /* the in-memory table was used */
	assert_int_equal(fx->res.operations, 0);
	assert_int_equal(fx->res.batches, 0);
	expect_kernel(fx, "kernel matches", S1 S1_R1 S1_R2 S2 S2_R1);
}

static void test_sync_weight_flip_is_one_set(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1 S1_R2);
	free(run(fx));
	set_desired(fx, S1 S1_R1 "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n");
	expect_run(fx, "weight flip", "-e -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n");
	assert_int_equal(fx->res.dests_changed, 1);
}

static void test_sync_foreign_untouched_and_adoption(void **state)
{
	struct fixture *fx = *state;
#define FOREIGN "-A -t 192.168.1.1:80 -s wrr\n-a -t 192.168.1.1:80 -r 192.168.1.9:80 -g -w 5\n"

	/* Before kipvs starts: a foreign service, and S1 left by an earlier run with weight 0. */
	test_table_from_rules(FOREIGN S1 "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 0\n",
			      &fx->fake.table);
	set_desired(fx, S1 S1_R1);
	expect_run(fx, "adopt S1, restore weight, leave foreign",
		   "-e -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n");
	set_desired(fx, S2);
	expect_run(fx, "S1 (adopted) goes, foreign stays", S2 "-D -t 10.0.0.1:80\n");
	expect_kernel(fx, "foreign survives", FOREIGN S2);
}

static void test_sync_deleted_behind_back_verify(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1 S2 S2_R1);
	free(run(fx));
	ipvs_table_del(&fx->fake.table, &fx->fake.log.ops[0].svc.key); /* someone ran ipvsadm -D */
	expect_run(fx, "no verification: in-memory table says all is well", "");
	ipvs_sync_request_verify(fx->sync);
	expect_run(fx, "verification recreates it", S1 S1_R1);
	assert_true(fx->res.verified);
}

/* The scheduler flags go to the kernel, and a flag changed by hand is put back. */
static void test_sync_sched_flags_restored(void **state)
{
	static const char mh[] = "-A -t 10.0.0.1:80 -s mh -p 60 -b mh-fallback,mh-port\n";
	struct fixture *fx = *state;
	struct ipvs_vs *vs;

	set_desired(fx, mh);
	expect_run(fx, "created with its flags", mh);
	expect_kernel(fx, "kernel has the flags", mh);
	vs = ipvs_table_find(&fx->fake.table, &fx->fake.log.ops[0].svc.key);
	assert_non_null(vs);
	vs->svc.flags &= ~(uint32_t)PLAN_SCHED_F_FALLBACK; /* ipvsadm -E ... -b mh-port */
	ipvs_sync_request_verify(fx->sync);
	expect_run(fx, "verification sets the flags again",
		   "-E -t 10.0.0.1:80 -s mh -p 60 -b mh-fallback,mh-port\n");
	assert_int_equal(fx->res.services_changed, 1);
	expect_kernel(fx, "kernel has the flags again", mh);
	expect_run(fx, "then nothing to do", "");
}

static void test_sync_esrch_recreates(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1 S1_R2);
	free(run(fx));
	ipvs_table_del(&fx->fake.table, &fx->fake.log.ops[0].svc.key);
	set_desired(fx, S1 S1_R1 "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n");
	expect_run(fx, "ESRCH: create the service, then its destinations",
		   "-e -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n" S1 S1_R1
		   "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n");
	assert_int_equal(fx->res.failed, 0);
	assert_int_equal(fx->res.repaired, 1);
	assert_int_equal(fx->res.batches, 2); /* the change, then the follow-up round */
	assert_int_equal(fx->fake.log.ops[3].err, -ESRCH);
}

static void test_sync_eexist_compares_and_sets(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1);
	free(run(fx));
	/* Appears after kipvs read the table: a different scheduler and a stray real server. */
	{
		struct ipvs_table extra = {0};
		struct ipvs_vs *vs, *tmp;

		test_table_from_rules(S2 "-a -u 10.0.0.2:53 -r 10.9.9.9:53 -m -w 1\n", &extra);
		HASH_ITER(hh, extra.vs, vs, tmp)
		{
			struct ipvs_vs *copy = ipvs_table_put(&fx->fake.table, &vs->svc);
			struct ipvs_rs *rs, *rtmp;

			strcpy(copy->svc.sched, "lc");
			HASH_ITER(hh, vs->rs, rs, rtmp)
			assert_non_null(ipvs_vs_put_rs(copy, &rs->dest));
		}
		ipvs_table_clear(&extra);
	}
	set_desired(fx, S1 S1_R1 S2 S2_R1);
	expect_run(fx, "EEXIST: compare, then SET and fix the real servers",
		   S2 S2_R1 "-E -u 10.0.0.2:53 -s rr\n-d -u 10.0.0.2:53 -r 10.9.9.9:53\n");
	assert_int_equal(fx->res.failed, 0);
	expect_kernel(fx, "kernel matches", S1 S1_R1 S2 S2_R1);
}

static void test_sync_enoent(void **state)
{
	struct fixture *fx = *state;
	struct ipvs_vs *vs;

	set_desired(fx, S1 S1_R1 S1_R2);
	free(run(fx));
	vs = ipvs_table_find(&fx->fake.table, &fx->fake.log.ops[0].svc.key);
	ipvs_vs_del_rs(vs, &fx->fake.log.ops[1].dest.key); /* R1 gone behind our back */
	ipvs_vs_del_rs(vs, &fx->fake.log.ops[2].dest.key); /* R2 too */
	set_desired(fx, S1 "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 0\n");
	expect_run(fx, "ENOENT on SET creates it; ENOENT on DEL is already done",
		   "-e -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 0\n"
		   "-d -t 10.0.0.1:80 -r 10.1.0.2:8080\n"
		   "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 0\n");
	assert_int_equal(fx->res.failed, 0);
	expect_run(fx, "then nothing", "");
}

static void test_sync_other_error_logged_and_retried(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1 S1_R2);
	fx->fake.fail_at = 2; /* the second real server */
	fx->fake.fail_err = -EINVAL;
	expect_run(fx, "first try", S1 S1_R1 S1_R2);
	assert_int_equal(fx->res.failed, 1);
	/* by kind and errno, for kipvs_netlink_errors_total */
	assert_int_equal(fx->res.n_failures, 1);
	assert_string_equal(fx->res.failures[0].op, "add_dest");
	assert_int_equal(fx->res.failures[0].err, -EINVAL);
	assert_int_equal(fx->res.failures[0].n, 1);
	fflush(fx->log);
	if (!strstr(fx->log_buf, "level=warn") || !strstr(fx->log_buf, "vs=10.0.0.1:80/tcp") ||
	    !strstr(fx->log_buf, "rs=10.1.0.2:8080") || !strstr(fx->log_buf, "errno=EINVAL") ||
	    !strstr(fx->log_buf, "svc=rules/"))
		fail_msg("log line lacks the object: %s", fx->log_buf);
	assert_int_equal(strchr(fx->log_buf, '\n') - fx->log_buf + 1, (long)strlen(fx->log_buf));
	expect_run(fx, "retried on the next sync", S1_R2);
	assert_int_equal(fx->res.failed, 0);
}

/* The breakdown keeps distinct (op, errno) pairs, up to IPVS_FAILURE_KINDS of them. */
static void test_failure_note_bounded(void **state)
{
	struct ipvs_failure f[IPVS_FAILURE_KINDS];
	size_t n = 0;

	(void)state;
	for (int e = 1; e <= IPVS_FAILURE_KINDS + 4; e++)
		ipvs_failure_note(f, &n, "add_dest", -e);
	ipvs_failure_note(f, &n, "add_dest", -1);
	assert_int_equal(n, IPVS_FAILURE_KINDS);
	assert_int_equal(f[0].n, 2);
	assert_int_equal(f[IPVS_FAILURE_KINDS - 1].err, -IPVS_FAILURE_KINDS);
	assert_int_equal(f[IPVS_FAILURE_KINDS - 1].n, 1);
}

static void test_sync_lost_replies_verify(void **state)
{
	struct fixture *fx = *state;

	set_desired(fx, S1 S1_R1 S2);
	fx->fake.lose_replies = true;
	expect_run(fx, "replies lost: the table is read again, nothing to redo", S1 S1_R1 S2);
	assert_true(fx->res.lost_replies);
	assert_true(fx->res.verified);
	assert_int_equal(fx->res.failed, 0);
	expect_run(fx, "then nothing", "");
}

static void test_sync_plan_diff_makes_no_change(void **state)
{
	struct fixture *fx = *state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	set_desired(fx, S1 S1_R1);
	assert_int_equal(ipvs_sync_plan_diff(fx->sync, &fx->desired, f), 2);
	fclose(f);
	test_assert_text("plan --diff", buf, S1 S1_R1);
	assert_int_equal(fx->fake.log.n, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sync_from_empty_then_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_weight_flip_is_one_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_foreign_untouched_and_adoption, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sync_deleted_behind_back_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_sched_flags_restored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_esrch_recreates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_eexist_compares_and_sets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_enoent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_other_error_logged_and_retried, setup,
					    teardown),
	    cmocka_unit_test(test_failure_note_bounded),
	    cmocka_unit_test_setup_teardown(test_sync_lost_replies_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_plan_diff_makes_no_change, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
