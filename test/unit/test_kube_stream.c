/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_stream.c, the watch-event splitter: every way of chunking the same
 * bytes gives the same lines; long lines are refused at the bound; callback errors stop it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube_stream.h"

struct collected {
	char out[4096];
	size_t n_lines;
	int fail_at; /* return -EIO on this line (1-based); 0: never */
};

static int collect(const char *line, size_t len, void *userdata)
{
	struct collected *c = userdata;
	size_t used = strlen(c->out);

	c->n_lines++;
	if (c->fail_at && (int)c->n_lines == c->fail_at)
		return -EIO;
	assert_true(used + len + 2 < sizeof(c->out));
	memcpy(c->out + used, line, len);
	c->out[used + len] = '|';
	c->out[used + len + 1] = '\0';
	return 0;
}

static int collect_len(const char *line, size_t len, void *userdata)
{
	(void)line;
	*(size_t *)userdata = len;
	return 0;
}

struct split_case {
	const char *name;
	const char *input;
	const char *lines; /* expected lines, each followed by '|' */
	size_t pending; /* bytes left buffered at the end */
};

static const struct split_case split_cases[] = {
	{ "empty", "", "", 0 },
	{ "one line", "{\"type\":\"ADDED\"}\n", "{\"type\":\"ADDED\"}|", 0 },
	{ "two lines", "a\nbb\n", "a|bb|", 0 },
	{ "tail without newline", "a\nbcd", "a|", 3 },
	{ "crlf", "a\r\nb\r\n", "a|b|", 0 },
	{ "empty lines skipped", "\n\na\n\r\n\nb\n", "a|b|", 0 },
	{ "many events", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1|2|3|4|5|6|7|8|9|10|", 0 },
	{ "only tail", "xyz", "", 3 },
};

/* Feeds the input cut at every pair of split points, and byte by byte. */
static void test_split_every_chunking(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *tc = &split_cases[i];
		size_t len = strlen(tc->input);

		for (size_t a = 0; a <= len; a++) {
			for (size_t b = a; b <= len; b++) {
				struct kube_stream *s = kube_stream_new(0);
				struct collected c = { .out = "" };

				assert_non_null(s);
				assert_int_equal(kube_stream_feed(s, tc->input, a, collect, &c), 0);
				assert_int_equal(
					kube_stream_feed(s, tc->input + a, b - a, collect, &c), 0);
				assert_int_equal(kube_stream_feed(s, tc->input + b, len - b,
								  collect, &c),
						 0);
				if (strcmp(c.out, tc->lines) != 0 ||
				    kube_stream_pending(s) != tc->pending)
					fail_msg("case \"%s\" split at %zu,%zu: got \"%s\" pending "
						 "%zu",
						 tc->name, a, b, c.out, kube_stream_pending(s));
				kube_stream_free(s);
			}
		}
		{
			struct kube_stream *s = kube_stream_new(0);
			struct collected c = { .out = "" };

			for (size_t k = 0; k < len; k++)
				assert_int_equal(kube_stream_feed(s, tc->input + k, 1, collect, &c),
						 0);
			if (strcmp(c.out, tc->lines) != 0)
				fail_msg("case \"%s\" byte by byte: got \"%s\"", tc->name, c.out);
			kube_stream_free(s);
		}
	}
}

struct bound_case {
	const char *name;
	size_t max;
	const char *input;
	size_t chunk; /* feed in chunks of this size */
	int expect; /* the first non-zero result */
	const char *lines;
};

static const struct bound_case bound_cases[] = {
	{ "at the bound, whole", 4, "abcd\n", 100, 0, "abcd|" },
	{ "at the bound, chunked", 4, "abcd\n", 1, 0, "abcd|" },
	{ "over the bound, whole", 4, "abcde\n", 100, -EMSGSIZE, "" },
	{ "over the bound, chunked", 4, "abcde\n", 2, -EMSGSIZE, "" },
	{ "over the bound, no newline yet", 4, "abcdefgh", 3, -EMSGSIZE, "" },
	{ "lines before the long one", 4, "ab\ncd\nxxxxxxxx\n", 100, -EMSGSIZE, "ab|cd|" },
};

static void test_bound(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
		const struct bound_case *tc = &bound_cases[i];
		struct kube_stream *s = kube_stream_new(tc->max);
		struct collected c = { .out = "" };
		size_t len = strlen(tc->input);
		int r = 0;

		for (size_t off = 0; off < len && r == 0; off += tc->chunk) {
			size_t n = len - off < tc->chunk ? len - off : tc->chunk;

			r = kube_stream_feed(s, tc->input + off, n, collect, &c);
		}
		if (r != tc->expect || strcmp(c.out, tc->lines) != 0)
			fail_msg("case \"%s\": got %d \"%s\"", tc->name, r, c.out);
		/* The buffer never holds more than the bound. */
		assert_true(kube_stream_pending(s) <= tc->max);
		/* After a reset the stream works again. */
		kube_stream_reset(s);
		c.out[0] = '\0';
		assert_int_equal(kube_stream_feed(s, "ok\n", 3, collect, &c), 0);
		assert_string_equal(c.out, "ok|");
		kube_stream_free(s);
	}
}

static void test_callback_error_stops(void **state)
{
	struct kube_stream *s = kube_stream_new(0);
	struct collected c = { .out = "", .fail_at = 2 };

	(void)state;
	assert_int_equal(kube_stream_feed(s, "a\nb\nc\n", 6, collect, &c), -EIO);
	assert_string_equal(c.out, "a|");
	/* Also when the failing line was assembled from pieces. */
	kube_stream_reset(s);
	c = (struct collected){ .out = "", .fail_at = 1 };
	assert_int_equal(kube_stream_feed(s, "xy", 2, collect, &c), 0);
	assert_int_equal(kube_stream_feed(s, "z\n", 2, collect, &c), -EIO);
	kube_stream_free(s);
}

static void test_large_line_grows(void **state)
{
	size_t n = 3 << 20;
	char *big = malloc(n + 1);
	struct kube_stream *s = kube_stream_new(0);
	size_t got = 0;

	(void)state;
	memset(big, 'x', n);
	big[n] = '\n';
	for (size_t off = 0; off < n + 1; off += 1000) {
		size_t k = n + 1 - off < 1000 ? n + 1 - off : 1000;

		assert_int_equal(kube_stream_feed(s, big + off, k, collect_len, &got), 0);
	}
	assert_int_equal(got, n);
	assert_int_equal(kube_stream_pending(s), 0);
	kube_stream_free(s);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_every_chunking),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_callback_error_stops),
		cmocka_unit_test(test_large_line_grows),
	};

	assert_null(kube_stream_free(NULL));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
