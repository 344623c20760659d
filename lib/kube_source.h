/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file source (--from PATH): Services, EndpointSlices and Nodes read from manifests (a
 * kubectl List, single objects, multi-document YAML) in a file or a directory of .json, .yaml
 * and .yml files, fed into a kube_cache exactly as the API watch would. Used one-shot by
 * `kipvs plan --from`, and watched with inotify by the daemon: each change re-reads the files
 * and applies the difference (puts for new or changed objects, deletes for vanished ones).
 */
#pragma once

#include <stdbool.h>

struct ev_loop;
struct kube_cache;
struct kube_source;

/*
 * Loads every object under path into cache once, then marks all three kinds synced. Services
 * that kube_service_is_proxied(svc, proxy_name) rejects are left out (proxy_name NULL when
 * --service-proxy-name is not set). Objects that fail to decode are logged and left out.
 * Returns the number of objects put, -ENOENT (or another -errno) when path cannot be read, or
 * -EBADMSG when some file did not parse (logged; the other files were still loaded).
 */
int kube_source_load(struct kube_cache *cache, const char *path, const char *proxy_name)
	__attribute__((warn_unused_result));

/* Called after each re-read of the files; the cache's change set holds what moved. */
typedef void (*kube_source_changed_fn)(struct kube_source *source, void *userdata);

/*
 * A watched source on loop feeding cache (neither is owned). Copies path and proxy_name.
 * Returns 0 and the source, or -ENOMEM. Free with kube_source_free().
 */
int kube_source_new(struct ev_loop *loop, struct kube_cache *cache, const char *path,
		    const char *proxy_name, kube_source_changed_fn fn, void *userdata,
		    struct kube_source **ret_source) __attribute__((warn_unused_result));

/*
 * Watches the directory (for a file: its parent; editors and ConfigMap mounts replace files
 * by rename) and loads everything once. Later changes are re-read from the loop, after a
 * short settle delay. Returns as kube_source_load(); on -EBADMSG the watch is running.
 */
int kube_source_start(struct kube_source *source) __attribute__((warn_unused_result));

/*
 * Re-reads everything now and applies the difference. A file that fails to parse keeps the
 * objects it gave last time. Returns as kube_source_load().
 */
int kube_source_reload(struct kube_source *source) __attribute__((warn_unused_result));

/* Stops the watch and frees the source. Accepts NULL; returns NULL. */
struct kube_source *kube_source_free(struct kube_source *source);
