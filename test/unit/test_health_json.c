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
	/* Before the first sync kube-proxy shows Go's zero time. */
	assert_int_equal(health_format_rfc3339(HEALTH_TIME_ZERO, buf, sizeof(buf)), 20);
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
	assert_int_equal(health_format_rfc3339(HEALTH_TIME_ZERO, buf, 20), -ENOSPC);
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

static void test_service_body(void **state)
{
	static const struct {
		const char *name;
		const char *ns, *svc;
		unsigned n;
		bool healthy;
		const char *want;
	} cases[] = {
		{"one local endpoint", "default", "web", 1, true,
		 "{\"service\":{\"namespace\":\"default\",\"name\":\"web\"},"
		 "\"localEndpoints\":1,\"serviceProxyHealthy\":true}"},
		{"none, unhealthy", "kube-system", "lb", 0, false,
		 "{\"service\":{\"namespace\":\"kube-system\",\"name\":\"lb\"},"
		 "\"localEndpoints\":0,\"serviceProxyHealthy\":false}"},
		{"escaping", "a\"b", "c\\d\n", 12, true,
		 "{\"service\":{\"namespace\":\"a\\\"b\",\"name\":\"c\\\\d\\u000a\"},"
		 "\"localEndpoints\":12,\"serviceProxyHealthy\":true}"},
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = health_service_body(buf, sizeof(buf), cases[i].ns, cases[i].svc, cases[i].n,
					    cases[i].healthy);

		if (n < 0 || strcmp(buf, cases[i].want) != 0)
			fail_msg("case '%s': got '%s' want '%s'", cases[i].name, n < 0 ? "" : buf,
				 cases[i].want);
		assert_int_equal((size_t)n, strlen(cases[i].want));
		/* Every buffer shorter than the body is refused, never overrun. */
		for (size_t size = 0; size <= (size_t)n; size++)
			if (health_service_body(buf, size, cases[i].ns, cases[i].svc, cases[i].n,
						cases[i].healthy) != -ENOSPC)
				fail_msg("case '%s': size %zu not refused", cases[i].name, size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_proxy_bodies),
		cmocka_unit_test(test_service_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
