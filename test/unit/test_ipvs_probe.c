/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for ipvs/ipvs_probe.c: kernel version parsing and the conn_reuse_mode decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipvs.h"

static void test_kernel_version_parse(void **state)
{
	static const struct {
		const char *release;
		int ok, major, minor;
	} cases[] = {
		{"6.1.0-56-amd64", 1, 6, 1},  {"5.8.18", 1, 5, 8},  {"4.19", 1, 4, 19},
		{"6.18.44-fc-v595", 1, 6, 18}, {"", 0, 0, 0},       {"abc", 0, 0, 0},
		{"5", 0, 0, 0},                {"5.", 0, 0, 0},     {"-1.2", 0, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int major = -1, minor = -1;
		int r = ipvs_kernel_version_parse(cases[i].release, &major, &minor);

		if (cases[i].ok != (r == 0))
			fail_msg("case %zu (%s): r=%d", i, cases[i].release, r);
		if (r == 0 && (major != cases[i].major || minor != cases[i].minor))
			fail_msg("case %zu (%s): got %d.%d", i, cases[i].release, major, minor);
	}
}

static void test_conn_reuse_mode(void **state)
{
	static const struct {
		int major, minor, want;
	} cases[] = {
		{3, 10, -1}, {4, 0, -1}, {4, 1, 0}, {4, 19, 0}, {5, 4, 0},
		{5, 8, 0},   {5, 9, -1}, {5, 10, -1}, {6, 1, -1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ipvs_conn_reuse_mode_wanted(cases[i].major, cases[i].minor) != cases[i].want)
			fail_msg("case %zu: kernel %d.%d", i, cases[i].major, cases[i].minor);
}

static void test_probe_is_loaded(void **state)
{
	char dir[] = "/tmp/kipvs-probe-XXXXXX";
	char path[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_false(ipvs_probe_is_loaded(dir));
	snprintf(path, sizeof(path), "%s/net", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/net/ip_vs", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_true(ipvs_probe_is_loaded(dir));
	unlink(path);
	snprintf(path, sizeof(path), "%s/net", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_version_parse),
		cmocka_unit_test(test_conn_reuse_mode),
		cmocka_unit_test(test_probe_is_loaded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
