/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for fw_structure_diff() (ipvs/fw_structure.c): table-driven over `nft list table`
 * texts against what kipvs installs: equal despite handles, elements, comments and whitespace;
 * each kind of hand-made drift (a rule deleted, a chain flushed or deleted, a stray rule or
 * chain, reordered rules, a set redeclared, table flags, the table gone) counted and named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fw.h"

/* As fw_nft.c writes it: tabs, one-line elements for the fixed set, no comment. */
static const char want[] = "table inet kipvs {\n"
			   "\tset vip4 {\n\t\ttype ipv4_addr\n\t}\n"
			   "\tset cluster_cidr4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
			   "\t\telements = { 10.244.0.0/16 }\n\t}\n"
			   "\tchain prerouting {\n"
			   "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
			   "\t\tip daddr @vip4 drop\n"
			   "\t\tip saddr != @cluster_cidr4 meta mark set meta mark | 0x00004000\n"
			   "\t}\n"
			   "\tchain forward {\n"
			   "\t\ttype filter hook forward priority filter; policy accept;\n"
			   "\t\tct state invalid drop\n"
			   "\t}\n"
			   "}\n";

/* As `nft -a list table` prints the same table, with elements, comment and handles. */
#define GOT_HEAD                                                                                   \
	"table inet kipvs { # handle 7\n"                                                          \
	"\tcomment \"kipvs base 0123456789abcdef\"\n"                                              \
	"\tset vip4 { # handle 2\n\t\ttype ipv4_addr\n"                                            \
	"\t\telements = { 10.96.0.10, 10.96.0.11,\n\t\t\t     10.96.0.12 }\n\t}\n\n"               \
	"\tset cluster_cidr4 { # handle 3\n\t\ttype ipv4_addr\n\t\tflags interval\n"               \
	"\t\telements = { 10.244.0.0/16 }\n\t}\n\n"
#define PRE_HOOK "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
#define PRE_DROP "\t\tip daddr @vip4 drop # handle 10\n"
#define PRE_MARK "\t\tip saddr != @cluster_cidr4 meta mark set meta mark | 0x00004000 # handle 11\n"
#define FWD_CHAIN                                                                                  \
	"\tchain forward { # handle 5\n"                                                           \
	"\t\ttype filter hook forward priority filter; policy accept;\n"                           \
	"\t\tct state invalid drop # handle 12\n\t}\n"

struct t_case {
	const char *name;
	const char *got;
	int want_n;
	const char *want_what; /* a substring of what; NULL: what must be "" */
};

static const struct t_case cases[] = {
    {"same table (handles, elements, comment, whitespace left out)",
     GOT_HEAD "\tchain prerouting { # handle 4\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n\n" FWD_CHAIN
	      "}\n",
     0, NULL},
    {"terse listing (no elements)",
     "table inet kipvs {\n\tcomment \"x\"\n\tset vip4 {\n\t\ttype ipv4_addr\n\t}\n"
     "\tset cluster_cidr4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n"
     "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n" FWD_CHAIN "}\n",
     0, NULL},
    {"a rule deleted by handle",
     GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_MARK "\t}\n" FWD_CHAIN "}\n", 1,
     "chain prerouting rule missing: ip daddr @vip4 drop"},
    {"a chain flushed",
     GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n"
	      "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
	      "\t}\n}\n",
     1, "chain forward rule missing: ct state invalid drop"},
    {"a chain deleted", GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n}\n", 1,
     "chain forward missing"},
    {"a flushed chain and a deleted one", GOT_HEAD "\tchain prerouting {\n" PRE_HOOK "\t}\n}\n", 2,
     "chain prerouting rule missing: ip daddr @vip4 drop; chain forward missing"},
    {"a stray rule",
     GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK
	      "\t\ttcp dport 22 accept # handle 40\n\t}\n" FWD_CHAIN "}\n",
     1, "chain prerouting rule not kipvs's: tcp dport 22 accept"},
    {"a stray chain",
     GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n" FWD_CHAIN
	      "\tchain mine {\n\t\tcounter\n\t}\n}\n",
     1, "chain mine not kipvs's"},
    {"rules reordered",
     GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_MARK PRE_DROP "\t}\n" FWD_CHAIN "}\n", 1,
     "chain prerouting reordered"},
    {"a rule duplicated",
     GOT_HEAD "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_DROP PRE_MARK "\t}\n" FWD_CHAIN "}\n",
     1, "chain prerouting duplicated"},
    {"a hook changed (policy drop)",
     GOT_HEAD "\tchain prerouting {\n"
	      "\t\ttype filter hook prerouting priority mangle; policy drop;\n" PRE_DROP PRE_MARK
	      "\t}\n" FWD_CHAIN "}\n",
     1,
     "chain prerouting rule missing: type filter hook prerouting priority mangle; policy accept;"},
    {"a set redeclared with another type",
     "table inet kipvs {\n\tset vip4 {\n\t\ttype ipv6_addr\n\t}\n"
     "\tset cluster_cidr4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n"
     "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n" FWD_CHAIN "}\n",
     1, "set vip4 line missing: type ipv4_addr"},
    {"table made dormant",
     "table inet kipvs {\n\tflags dormant\n\tset vip4 {\n\t\ttype ipv4_addr\n\t}\n"
     "\tset cluster_cidr4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n"
     "\tchain prerouting {\n" PRE_HOOK PRE_DROP PRE_MARK "\t}\n" FWD_CHAIN "}\n",
     1, "table line not kipvs's: flags dormant"},
    {"table absent", "", 1, "table absent"},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *c = &cases[i];
		char what[512] = "x";
		int n = fw_structure_diff(want, c->got, what, sizeof(what));

		if (n != c->want_n ||
		    (c->want_what ? !strstr(what, c->want_what) : what[0] != '\0')) {
			print_error(
			    "case '%s': got n=%d what='%s', want n=%d what containing '%s'\n",
			    c->name, n, what, c->want_n, c->want_what ? c->want_what : "");
			fail();
		}
	}
}

/* what may be NULL, and a short buffer is truncated, never overrun. */
static void test_what_buffer(void **state)
{
	const char *got = GOT_HEAD "\tchain prerouting {\n" PRE_HOOK "\t}\n}\n";
	char small[16];

	(void)state;
	assert_int_equal(fw_structure_diff(want, got, NULL, 0), 2);
	memset(small, 'z', sizeof(small));
	assert_int_equal(fw_structure_diff(want, got, small, sizeof(small)), 2);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_true(strncmp(small, "chain prerouting", sizeof(small) - 1) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_what_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
