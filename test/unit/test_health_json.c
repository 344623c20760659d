/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for health/health_json.c: RFC 3339 times and kube-proxy's healthz bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "health.h"

static void test_rfc3339(void **state)
{
	static const struct {
		int64_t ns;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00Z"},
		{1795312729LL * 1000000000LL, "2026-11-22T01:58:49Z"},
		{1795312729LL * 1000000000LL + 500000000LL, "2026-11-22T01:58:49.5Z"},
		{1795312729LL * 1000000000LL + 123456789LL, "2026-11-22T01:58:49.123456789Z"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = health_format_rfc3339(cases[i].ns, buf, sizeof(buf));

		if (n < 0 || strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: got '%s' want '%s'", i, buf, cases[i].want);
		assert_int_equal((size_t)n, strlen(cases[i].want));
	}
	assert_int_equal(health_format_rfc3339(0, buf, 10), -ENOSPC);
}

static void test_proxy_bodies(void **state)
{
	char buf[256];
	int64_t t = 1795312729LL * 1000000000LL;

	(void)state;
	assert_true(health_proxy_body(buf, sizeof(buf), t, t + 1000000000LL, true, false) > 0);
	assert_string_equal(buf, "{\"lastUpdated\": \"2026-11-22T01:58:49Z\",\"currentTime\": "
				 "\"2026-11-22T01:58:50Z\", \"nodeEligible\": false}");
	assert_true(health_proxy_body(buf, sizeof(buf), t, t, false, true) > 0);
	assert_string_equal(buf, "{\"lastUpdated\": \"2026-11-22T01:58:49Z\",\"currentTime\": "
				 "\"2026-11-22T01:58:49Z\"}");
	assert_int_equal(health_proxy_body(buf, 20, t, t, false, true), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_proxy_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
