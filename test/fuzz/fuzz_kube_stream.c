/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the watch-stream splitter: the input's first byte picks the line bound, the rest is
 * fed in chunks whose sizes come from a byte-driven generator. Every line handed out must match
 * what splitting the whole input at once gives (the oracle), and the buffer must stay bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct oracle {
	const char *text;
	size_t len;
	size_t pos; /* where the next expected line starts */
	size_t max;
	size_t lines;
};

/* The next non-empty line of the whole input, as the splitter should report it. */
static int oracle_next(struct oracle *o, const char **ret, size_t *ret_len)
{
	while (o->pos < o->len) {
		const char *start = o->text + o->pos;
		const char *nl = memchr(start, '\n', o->len - o->pos);
		size_t n;

		if (!nl)
			return 0;
		n = (size_t)(nl - start);
		o->pos += n + 1;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		*ret = start;
		*ret_len = n;
		return 1;
	}
	return 0;
}

static int on_line(const char *line, size_t len, void *userdata)
{
	struct oracle *o = userdata;
	const char *want;
	size_t want_len;

	if (len == 0 || len > o->max || memchr(line, '\n', len))
		abort();
	if (!oracle_next(o, &want, &want_len) || want_len != len || memcmp(want, line, len) != 0)
		abort();
	o->lines++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_stream *s;
	struct oracle o = { 0 };
	size_t off = 0, k = 0;
	int r = 0;

	if (size < 2)
		return 0;
	o.max = 1 + data[0] % 64;
	o.text = (const char *)data + 2;
	o.len = size - 2;
	s = kube_stream_new(o.max);
	if (!s)
		return 0;
	while (off < o.len && r == 0) {
		size_t chunk = 1 + (size_t)((data[1] + k * 31) % 17);

		if (chunk > o.len - off)
			chunk = o.len - off;
		r = kube_stream_feed(s, o.text + off, chunk, on_line, &o);
		if (kube_stream_pending(s) > o.max)
			abort();
		off += chunk;
		k++;
	}
	if (r == 0) {
		const char *rest;
		size_t rest_len;

		/* Everything complete was reported; what is pending is the unterminated tail. */
		if (oracle_next(&o, &rest, &rest_len))
			abort();
	} else {
		/* The only failure is a line (or tail) over the bound, counting a '\r'. */
		size_t pos = o.pos;
		int found = 0;

		if (r != -EMSGSIZE)
			abort();
		while (pos < o.len && !found) {
			const char *nl = memchr(o.text + pos, '\n', o.len - pos);
			size_t n = nl ? (size_t)(nl - (o.text + pos)) : o.len - pos;

			found = n > o.max;
			pos += n + 1;
		}
		if (!found)
			abort();
	}
	kube_stream_free(s);
	return 0;
}
