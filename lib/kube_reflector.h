/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A reflector keeps one kind of the cache equal to the API server, as client-go's does: a full
 * sync, then a WATCH from its resourceVersion (with bookmarks and a server-side timeout) applies
 * each event as it arrives. The full sync is the streaming list where the server supports it (a
 * watch with sendInitialEvents=true whose initial events end at an annotated bookmark, replaced
 * into the cache at once; the same watch then goes on), otherwise a LIST: at resourceVersion=0
 * first (the server's watch cache), at the last resourceVersion after a watch's 410, and at an
 * unset resourceVersion (a consistent read) when that one is too old. docs/api-client.md gives
 * every request. A watch that ends is resumed from the last resourceVersion seen; failures are
 * retried with jittered exponential backoff, or after Retry-After on 429 and 503. A watch that
 * receives no byte for longer than its idle limit is treated as dead and restarted on a new
 * connection.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_cache.h"

struct ev_loop;
struct kube_http;
struct kube_reflector;

#define KUBE_REFLECTOR_PAGE_LIMIT 500
#define KUBE_REFLECTOR_IDLE_LIMIT_MS 150000
#define KUBE_REFLECTOR_LIST_TIMEOUT_MS 60000
/*
 * A streaming list that brings no initial event for this long, and no end bookmark, is taken
 * as a server that ignores sendInitialEvents: the reflector lists instead, from then on.
 */
#define KUBE_REFLECTOR_INITIAL_EVENTS_WAIT_MS 10000

/* Called after the reflector changed the cache (a completed list, or a batch of events). */
typedef void (*kube_reflector_change_fn)(struct kube_reflector *reflector, void *userdata);

struct kube_reflector_options {
	enum kube_kind kind;
	const char *label_selector; /* server side; NULL: none */
	const char *field_selector; /* server side; NULL: none */
	/*
	 * Services only: kept when kube_service_is_proxied(svc, proxy_name). Applied on the
	 * client side always (a no-op when the server-side selector already filtered).
	 */
	const char *proxy_name;
	unsigned page_limit; /* 0: KUBE_REFLECTOR_PAGE_LIMIT */
	unsigned watch_timeout_s; /* 0: random in [300, 600), as client-go */
	unsigned idle_limit_ms; /* 0: KUBE_REFLECTOR_IDLE_LIMIT_MS */
	unsigned list_timeout_ms; /* per page; 0: KUBE_REFLECTOR_LIST_TIMEOUT_MS */
	size_t max_event_bytes; /* 0: KUBE_STREAM_MAX_LINE_DEFAULT; also bounds a list page x4 */
	uint32_t backoff_base_ms; /* 0: KUBE_BACKOFF_BASE_MS */
	uint32_t backoff_cap_ms; /* 0: KUBE_BACKOFF_CAP_MS */
	bool no_watch_list; /* never try the streaming list: always LIST */
	unsigned initial_events_wait_ms; /* 0: KUBE_REFLECTOR_INITIAL_EVENTS_WAIT_MS */
	kube_reflector_change_fn on_change;
	void *userdata;
};

/* Counters, for logs, metrics and tests. */
struct kube_reflector_stats {
	uint64_t lists; /* full syncs started, LIST or streaming (the first, and every relist) */
	uint64_t watch_lists; /* of which streaming lists */
	uint64_t watch_list_fallbacks; /* streaming given up for LIST (unsupported or refused) */
	uint64_t pages; /* list pages received */
	uint64_t relists_gone; /* relists caused by 410 Gone (or a too large resourceVersion) */
	uint64_t watches; /* watch requests started */
	uint64_t events; /* watch events applied (bookmarks included) */
	uint64_t bookmarks;
	uint64_t idle_restarts; /* watches declared dead by the idle limit */
	uint64_t failures; /* requests that failed (transport, 5xx, bad data, ...) */
	uint64_t retry_after; /* waits that honoured Retry-After */
};

/*
 * A reflector for opts->kind on http, writing into cache. Copies the options. Does nothing
 * until kube_reflector_start(). Returns NULL on ENOMEM. http, cache and loop must outlive it.
 */
struct kube_reflector *kube_reflector_new(struct ev_loop *loop, struct kube_http *http,
					  struct kube_cache *cache,
					  const struct kube_reflector_options *opts);
/* Stops the requests and timers and frees the reflector. Accepts NULL; returns NULL. */
struct kube_reflector *kube_reflector_free(struct kube_reflector *reflector);

/* Starts the first full sync. 0, or -ENOMEM / -EIO when the request cannot be started. */
int kube_reflector_start(struct kube_reflector *reflector) __attribute__((warn_unused_result));

/* True once the first full list has been applied to the cache. */
bool kube_reflector_is_synced(const struct kube_reflector *reflector);

/* The resource path ("/api/v1/services", ...) and the last resourceVersion seen (or ""). */
const char *kube_reflector_resource(const struct kube_reflector *reflector);
const char *kube_reflector_resource_version(const struct kube_reflector *reflector);

void kube_reflector_get_stats(const struct kube_reflector *reflector,
			      struct kube_reflector_stats *ret_stats);
