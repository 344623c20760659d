/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-memory caches of the objects kipvs watches: Services and EndpointSlices keyed by
 * namespace/name, and this node's Node. Both sources (the API reflectors and the --from file
 * source) feed them through the same calls, and the daemon asks which Services changed, so
 * that later work is proportional to the change.
 *
 * "Changed" is per Service key (namespace/name): a Service added, updated or deleted, or an
 * EndpointSlice labelled kubernetes.io/service-name=<name> in that namespace added, updated or
 * deleted (a slice whose label moves marks both Services). A Node change is reported apart.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kube_cache;
struct kube_service;
struct kube_endpoint_slice;
struct kube_node;

/* Returns a new empty cache, or NULL on ENOMEM. Free with kube_cache_free(). */
struct kube_cache *kube_cache_new(void);
struct kube_cache *kube_cache_free(struct kube_cache *cache);

/*
 * Inserts or replaces the object with the same namespace/name. Takes ownership of the object
 * on every path (it is freed on failure). Returns 1 when the cache changed, 0 when the new
 * object equals the cached one (same resourceVersion), negative errno on failure.
 */
int kube_cache_put_service(struct kube_cache *cache, struct kube_service *svc)
	__attribute__((warn_unused_result));
int kube_cache_put_slice(struct kube_cache *cache, struct kube_endpoint_slice *slice)
	__attribute__((warn_unused_result));
/* Only the Node named at kube_cache_set_node_name() is kept; others are freed and ignored. */
int kube_cache_put_node(struct kube_cache *cache, struct kube_node *node)
	__attribute__((warn_unused_result));

/* Removes the object; 1 when it was there, 0 when not. */
int kube_cache_delete_service(struct kube_cache *cache, const char *ns, const char *name);
int kube_cache_delete_slice(struct kube_cache *cache, const char *ns, const char *name);
int kube_cache_delete_node(struct kube_cache *cache, const char *name);

/* The node this cache keeps (--hostname-override); copied. 0 or -ENOMEM. */
int kube_cache_set_node_name(struct kube_cache *cache, const char *name)
	__attribute__((warn_unused_result));

/*
 * Lookups. Returned pointers are owned by the cache and valid until the next change to the
 * same object.
 */
const struct kube_service *kube_cache_get_service(const struct kube_cache *cache, const char *ns,
						  const char *name);
const struct kube_node *kube_cache_get_node(const struct kube_cache *cache);
size_t kube_cache_count_services(const struct kube_cache *cache);
size_t kube_cache_count_slices(const struct kube_cache *cache);

/* Calls fn for every Service, in no particular order; stops early when fn returns non-zero. */
typedef int (*kube_cache_service_fn)(const struct kube_service *svc, void *userdata);
int kube_cache_foreach_service(const struct kube_cache *cache, kube_cache_service_fn fn,
			       void *userdata);

/*
 * The EndpointSlices of Service ns/name (labelled kubernetes.io/service-name=name in ns), in
 * slice-name order. Cost proportional to that Service's slices, not to the cache.
 */
typedef int (*kube_cache_slice_fn)(const struct kube_endpoint_slice *slice, void *userdata);
int kube_cache_foreach_slice_of(const struct kube_cache *cache, const char *ns, const char *name,
				kube_cache_slice_fn fn, void *userdata);
/* Every slice in the cache, in no particular order. */
int kube_cache_foreach_slice(const struct kube_cache *cache, kube_cache_slice_fn fn,
			     void *userdata);

/*
 * Decoding time: the sources add what parsing and decoding objects into the cache cost; the
 * daemon takes the sum at each sync (its decode phase) and the count starts again.
 */
void kube_cache_decode_add(struct kube_cache *cache, double ms);
double kube_cache_decode_take(struct kube_cache *cache);

/*
 * Change tracking. kube_cache_take_changes() hands out the Service keys changed since the last
 * call ("namespace/name" strings, each once, sorted) and clears the set; the caller frees the
 * array and its strings with kube_cache_changes_free(). node_changed reports a change to the
 * Node.
 */
int kube_cache_take_changes(struct kube_cache *cache, char ***ret_keys, size_t *ret_n,
			    bool *ret_node_changed) __attribute__((warn_unused_result));
void kube_cache_changes_free(char **keys, size_t n);

enum kube_kind {
	KUBE_KIND_SERVICE,
	KUBE_KIND_ENDPOINT_SLICE,
	KUBE_KIND_NODE,
	_KUBE_KIND_MAX,
};

const char *kube_kind_to_string(enum kube_kind kind);

/*
 * A full list replaces what the cache holds of one kind: between replace_begin and
 * replace_end every put marks its object as seen; replace_end deletes (and marks changed)
 * the objects of that kind that were not, then marks the kind synced.
 */
void kube_cache_replace_begin(struct kube_cache *cache, enum kube_kind kind);
void kube_cache_replace_end(struct kube_cache *cache, enum kube_kind kind);

/*
 * A new empty cache that keeps the same Node as cache, where a list is collected apart before
 * kube_cache_replace_from() hands it over. NULL on ENOMEM; free with kube_cache_free().
 */
struct kube_cache *kube_cache_new_staging(const struct kube_cache *cache);

/*
 * Replaces what cache holds of kind with what from holds of it, in one step (replace_begin,
 * every object moved over, replace_end): a reader of cache never sees half of it. from keeps
 * nothing of kind. 0, or -ENOMEM (cache is then left between replace_begin and replace_end, not
 * synced anew; the next full list replaces it).
 */
int kube_cache_replace_from(struct kube_cache *cache, struct kube_cache *from, enum kube_kind kind)
	__attribute__((warn_unused_result));

/*
 * Between replace_begin and replace_end: marks the cached object ns/name of `kind` (name only
 * for a Node) as seen without replacing it, so replace_end keeps it (the file source does this
 * for the objects of a file that failed to parse). 1 when the object is cached, 0 when not,
 * -ENOMEM.
 */
int kube_cache_mark_seen(struct kube_cache *cache, enum kube_kind kind, const char *ns,
			 const char *name);

/* True once the kind has had its first full list (replace_end). */
bool kube_cache_is_synced(const struct kube_cache *cache, enum kube_kind kind);
