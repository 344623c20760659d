/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ipvs/ipvs_sysctl.c: which sysctls for which kernel, and that they are read
 * first, written only when different, and each change logged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "test_ipvs_util.h"

static const char *const files[] = {
    "net/ipv4/vs/conntrack",
    "net/ipv4/vs/expire_nodest_conn",
    "net/ipv4/vs/expire_quiescent_template",
    "net/ipv4/vs/conn_reuse_mode",
    "net/ipv4/ip_forward",
    "net/ipv6/conf/all/forwarding",
};

static void write_file(const char *root, const char *name, const char *value)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/%s", root, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(value, f);
	fclose(f);
}

static int read_file(const char *root, const char *name)
{
	char path[512];
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/%s", root, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &v), 1);
	fclose(f);
	return v;
}

static void make_root(char *root)
{
	static const char *const dirs[] = {
	    "sys",	    "sys/net",		 "sys/net/ipv4",	 "sys/net/ipv4/vs",
	    "sys/net/ipv6", "sys/net/ipv6/conf", "sys/net/ipv6/conf/all"};
	char path[512];

	assert_non_null(mkdtemp(root));
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		write_file(root, files[i], "0\n");
}

static void test_sysctl_wanted(void **state)
{
	static const struct {
		int major, minor;
		bool ipv6;
		size_t n;
		int reuse; /* -1: not in the list */
	} cases[] = {
	    {5, 4, false, 5, 0}, {5, 8, true, 6, 0},   {5, 9, false, 4, -1},
	    {6, 1, true, 5, -1}, {4, 0, false, 4, -1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ipvs_sysctl want[8];
		size_t n = ipvs_sysctl_wanted(cases[i].major, cases[i].minor, cases[i].ipv6, want,
					      ARRAY_SIZE(want));
		int reuse = -1;
		bool v6 = false;

		for (size_t j = 0; j < n; j++) {
			if (strcmp(want[j].name, "net/ipv4/vs/conn_reuse_mode") == 0)
				reuse = want[j].value;
			if (strcmp(want[j].name, "net/ipv6/conf/all/forwarding") == 0)
				v6 = true;
		}
		if (n != cases[i].n || reuse != cases[i].reuse || v6 != cases[i].ipv6)
			fail_msg("case %zu (kernel %d.%d ipv6=%d): n=%zu reuse=%d", i,
				 cases[i].major, cases[i].minor, cases[i].ipv6, n, reuse);
	}
}

static void test_sysctl_apply(void **state)
{
	char root[] = "/tmp/kipvs-sysctl-XXXXXX";
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);

	(void)state;
	make_root(root);
	write_file(root, "net/ipv4/ip_forward", "1\n"); /* already right: not written, not logged */
	write_file(root, "net/ipv4/vs/conn_reuse_mode", "1\n");
	log_set_stream(log);
	/* Kernel 6.1: conn_reuse_mode left alone; IPv6 forwarding only with IPv6 services. */
	assert_int_equal(ipvs_sysctl_apply(root, 6, 1, false), 3);
	fflush(log);
	assert_non_null(strstr(buf, "sysctl=net.ipv4.vs.conntrack from=0 to=1"));
	assert_non_null(strstr(buf, "sysctl=net.ipv4.vs.expire_nodest_conn from=0 to=1"));
	assert_non_null(strstr(buf, "sysctl=net.ipv4.vs.expire_quiescent_template from=0 to=1"));
	assert_null(strstr(buf, "ip_forward"));
	assert_int_equal(read_file(root, "net/ipv4/vs/conn_reuse_mode"), 1);
	assert_int_equal(read_file(root, "net/ipv6/conf/all/forwarding"), 0);
	/* Second run: nothing differs, nothing written. */
	assert_int_equal(ipvs_sysctl_apply(root, 6, 1, false), 0);
	/* Kernel 5.4 with IPv6 services: conn_reuse_mode 0, IPv6 forwarding on. */
	assert_int_equal(ipvs_sysctl_apply(root, 5, 4, true), 2);
	assert_int_equal(read_file(root, "net/ipv4/vs/conn_reuse_mode"), 0);
	assert_int_equal(read_file(root, "net/ipv6/conf/all/forwarding"), 1);
	/* A missing sysctl is an error, after trying the others. */
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/sys/net/ipv4/vs/conntrack", root);
		unlink(path);
		assert_true(ipvs_sysctl_apply(root, 5, 4, true) < 0);
	}
	log_set_stream(NULL);
	fclose(log);
	free(buf);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sysctl_wanted),
	    cmocka_unit_test(test_sysctl_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
