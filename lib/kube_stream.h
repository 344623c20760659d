/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The watch-stream splitter: the API server sends one JSON event per line, and the bytes
 * arrive in arbitrary chunks (an event split across reads, many events in one read). Feed it
 * the chunks; it calls back once per complete line. Pure: no I/O, no clock.
 */
#pragma once

#include <stddef.h>

struct kube_stream;

/* The default bound on one line (one watch event), 64 MiB. */
#define KUBE_STREAM_MAX_LINE_DEFAULT ((size_t)64 << 20)

/*
 * Returns a new splitter that refuses lines longer than max_line bytes (0: the default), or
 * NULL on ENOMEM. Free with kube_stream_free().
 */
struct kube_stream *kube_stream_new(size_t max_line);
struct kube_stream *kube_stream_free(struct kube_stream *stream);

/*
 * Called once per complete line, without its '\n' (and without a '\r' before it). `line` is
 * not NUL-terminated and is valid only during the call. Empty lines are not reported. A
 * negative return stops kube_stream_feed(), which returns it.
 */
typedef int (*kube_stream_line_fn)(const char *line, size_t len, void *userdata);

/*
 * Feeds `len` bytes. Complete lines go to fn in order; an incomplete tail is kept for the next
 * call. Returns 0, the first negative value fn returned, -EMSGSIZE when a line grows beyond
 * the bound (the splitter is then reset: what was buffered is dropped), or -ENOMEM. After an
 * error the caller restarts the stream (kube_stream_reset) rather than feeding on.
 */
int kube_stream_feed(struct kube_stream *stream, const char *data, size_t len,
		     kube_stream_line_fn fn, void *userdata) __attribute__((warn_unused_result));

/* Drops any buffered partial line (a new connection starts a new stream). */
void kube_stream_reset(struct kube_stream *stream);

/* Bytes of the incomplete line currently buffered. */
size_t kube_stream_pending(const struct kube_stream *stream);
