/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for ipvs/ipvs_procfs.c: /proc/net/ip_vs as the kernel prints it, and bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_ipvs_util.h"

#define HEADER                                                                                     \
	"IP Virtual Server version 1.2.1 (size=4096)\n"                                            \
	"Prot LocalAddress:Port Scheduler Flags\n"                                                 \
	"  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n"

static void test_procfs_parse(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		int ret;
		const char *want; /* the table as -A/-a lines */
	} cases[] = {
	    {"empty", HEADER, 0, ""},
	    {"IPv4 TCP with two real servers",
	     HEADER "TCP  0A000001:0050 rr \n"
		    "  -> 0A010001:1F90      Masq    1      3          7         \n"
		    "  -> 0A010002:1F90      Masq    0      0          0         \n",
	     0,
	     "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m -w 1\n"
	     "-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0\n"},
	    {"IPv6 UDP persistent, SCTP, and a firewall mark skipped",
	     HEADER "UDP  [fd00:0000:0000:0000:0000:0000:0000:0010]:0035 rr persistent 10800 "
		    "80000000\n"
		    "  -> [fd00:0001:0000:0000:0000:0000:0000:0005]:0035      Masq    1      0 0\n"
		    "FWM  00000001 rr \n"
		    "  -> 0A010002:1F90      Route   1      0          0         \n"
		    "SCTP 0A000005:0F1C sh \n",
	     0,
	     "-A --sctp-service 10.0.0.5:3868 -s sh\n-A -u [fd00::10]:53 -s rr -p 10800\n"
	     "-a -u [fd00::10]:53 -r [fd00:1::5]:53 -m -w 1\n"},
	    {"garbage address", HEADER "TCP  zz:0050 rr \n", -EBADMSG, NULL},
	    {"truncated real server", HEADER "TCP  0A000001:0050 rr \n  -> 0A010001:1F90\n",
	     -EBADMSG, NULL},
	    {"port too large", HEADER "TCP  0A000001:10050 rr \n", -EBADMSG, NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FILE *f = fmemopen((void *)cases[i].text, strlen(cases[i].text), "r");
		struct ipvs_table t = {0};
		int r = ipvs_procfs_parse(f, &t);

		fclose(f);
		if (r != cases[i].ret)
			fail_msg("case \"%s\": r=%d want %d", cases[i].name, r, cases[i].ret);
		if (r == 0) {
			char *got = test_table_text(&t);

			test_assert_text(cases[i].name, got, cases[i].want);
			free(got);
		}
		ipvs_table_clear(&t);
	}
}

static void test_procfs_counts(void **state)
{
	const char *text = HEADER "TCP  0A000001:0050 rr \n"
				  "  -> 0A010001:1F90      Masq    1      3          7         \n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct ipvs_table t = {0};
	struct ipvs_vs *vs;
	struct ipvs_rs *rs;

	(void)state;
	assert_int_equal(ipvs_procfs_parse(f, &t), 0);
	fclose(f);
	vs = t.vs;
	assert_non_null(vs);
	rs = vs->rs;
	assert_non_null(rs);
	assert_int_equal(rs->state.active_conns, 3);
	assert_int_equal(rs->state.inact_conns, 7);
	ipvs_table_clear(&t);
}

static void test_procfs_missing(void **state)
{
	struct ipvs_table t = {0};

	(void)state;
	assert_int_equal(ipvs_procfs_read("/nonexistent-kipvs", &t), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_procfs_parse),
	    cmocka_unit_test(test_procfs_counts),
	    cmocka_unit_test(test_procfs_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
