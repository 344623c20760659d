/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/log.c: the logfmt line shape, quoting, and verbosity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static char *captured;
static size_t captured_len;
static FILE *capture;

static int setup(void **state)
{
	(void)state;
	capture = open_memstream(&captured, &captured_len);
	log_set_stream(capture);
	log_set_verbosity(0);
	return capture ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	log_set_stream(NULL);
	fclose(capture);
	free(captured);
	captured = NULL;
	return 0;
}

static const char *flush_capture(void)
{
	fflush(capture);
	return captured;
}

static void test_line_shape(void **state)
{
	char q[64];

	(void)state;
	log_warn("ipvs", "add destination failed", "svc=%s err=%s errno=%s", "default/web",
		 log_quote(q, sizeof(q), "No such process"), "ESRCH");
	assert_string_equal(flush_capture(),
			    "level=warn component=ipvs msg=\"add destination failed\" "
			    "svc=default/web err=\"No such process\" errno=ESRCH\n");
}

static void test_no_fields(void **state)
{
	(void)state;
	log_info("main", "started", "");
	assert_string_equal(flush_capture(), "level=info component=main msg=started\n");
}

static void test_debug_needs_verbosity(void **state)
{
	(void)state;
	log_debug("kube", "event", "n=%d", 1);
	assert_string_equal(flush_capture() ? flush_capture() : "", "");
	log_set_verbosity(1);
	log_debug("kube", "event", "n=%d", 2);
	assert_string_equal(flush_capture(), "level=debug component=kube msg=event n=2\n");
}

static void test_quote(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(log_quote(buf, sizeof(buf), "plain"), "plain");
	assert_string_equal(log_quote(buf, sizeof(buf), ""), "\"\"");
	assert_string_equal(log_quote(buf, sizeof(buf), "a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
	/* Truncation keeps the closing quote. */
	assert_string_equal(log_quote(buf, 8, "a b c d e f"), "\"a b \"");
}

static void test_long_line_is_cut_but_ends_in_newline(void **state)
{
	char big[8000];
	const char *out;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_error("t", "long", "v=%s", big);
	out = flush_capture();
	assert_non_null(out);
	assert_true(strlen(out) < 4097);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_needs_verbosity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_is_cut_but_ends_in_newline, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
