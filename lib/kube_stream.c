/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Splits a watch stream into lines, however the bytes were chunked. Complete lines inside a
 * chunk are handed out without copying; only an unfinished tail is buffered, and the buffer
 * never grows past the configured bound, so a hostile or broken server cannot exhaust memory.
 */
#include "kube_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct kube_stream {
	size_t max_line;
	char *buf;
	size_t len;
	size_t cap;
};

struct kube_stream *kube_stream_new(size_t max_line)
{
	struct kube_stream *stream = calloc(1, sizeof(*stream));

	if (!stream)
		return NULL;
	stream->max_line = max_line ? max_line : KUBE_STREAM_MAX_LINE_DEFAULT;
	return stream;
}

struct kube_stream *kube_stream_free(struct kube_stream *stream)
{
	if (!stream)
		return NULL;
	free(stream->buf);
	free(stream);
	return NULL;
}

void kube_stream_reset(struct kube_stream *stream)
{
	stream->len = 0;
	/* Give back a buffer a huge event made large; keep a small one for reuse. */
	if (stream->cap > 1 << 20) {
		free(stream->buf);
		stream->buf = NULL;
		stream->cap = 0;
	}
}

size_t kube_stream_pending(const struct kube_stream *stream)
{
	return stream->len;
}

static int kube_stream_emit(const char *line, size_t len, kube_stream_line_fn fn, void *userdata)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	return fn(line, len, userdata);
}

static int kube_stream_append(struct kube_stream *stream, const char *data, size_t len)
{
	size_t need = stream->len + len;

	if (need > stream->max_line) {
		kube_stream_reset(stream);
		return -EMSGSIZE;
	}
	if (need > stream->cap) {
		size_t cap = stream->cap ? stream->cap : 4096;
		char *p;

		while (cap < need)
			cap = cap > stream->max_line / 2 ? stream->max_line : cap * 2;
		p = realloc(stream->buf, cap);
		if (!p)
			return -ENOMEM;
		stream->buf = p;
		stream->cap = cap;
	}
	memcpy(stream->buf + stream->len, data, len);
	stream->len = need;
	return 0;
}

int kube_stream_feed(struct kube_stream *stream, const char *data, size_t len,
		     kube_stream_line_fn fn, void *userdata)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t part;
		int r;

		if (!nl)
			return kube_stream_append(stream, data, len);
		part = (size_t)(nl - data);
		if (stream->len == 0) {
			/* The whole line is in this chunk: no copy. */
			if (part > stream->max_line)
				return -EMSGSIZE;
			r = kube_stream_emit(data, part, fn, userdata);
		} else {
			size_t total;

			r = kube_stream_append(stream, data, part);
			if (r < 0)
				return r;
			total = stream->len;
			stream->len = 0;
			r = kube_stream_emit(stream->buf, total, fn, userdata);
		}
		if (r < 0)
			return r;
		data = nl + 1;
		len -= part + 1;
	}
	return 0;
}
