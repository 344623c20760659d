/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API client as the daemon and `kipvs plan` use it: configuration (kubeconfig, in-cluster,
 * --master), one HTTP client, and the three reflectors (Services, EndpointSlices, this node's
 * Node) feeding one cache.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_cache.h"
#include "kube_reflector.h"

struct ev_loop;
struct kube_client;
struct kube_config;
struct kube_http;

/* kube-proxy's server-side Service selector, used when --service-proxy-name is not set. */
#define KUBE_CLIENT_SERVICE_SELECTOR                                                               \
	"!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"

struct kube_client_options {
	const char *kubeconfig; /* --kubeconfig; NULL: in-cluster */
	const char *master; /* --master; NULL: none */
	const char *sa_dir; /* NULL: the standard service-account directory */
	const char *node_name; /* --hostname-override (required) */
	const char *proxy_name; /* --service-proxy-name; NULL: not set */
	/* Reflector tuning; 0 selects the defaults of kube_reflector.h. */
	unsigned page_limit;
	unsigned watch_timeout_s;
	unsigned idle_limit_ms;
	unsigned list_timeout_ms;
	uint32_t backoff_base_ms;
	uint32_t backoff_cap_ms;
	bool no_watch_list; /* LIST only, never the streaming list (tests) */
	unsigned initial_events_wait_ms;
	kube_reflector_change_fn on_change; /* must not start requests; may be NULL */
	void *userdata;
};

/*
 * Loads the configuration and builds the client (nothing is sent yet). On failure returns
 * -errno and writes one sentence to err naming the file and field (kube_config_load()). Logs
 * one info line naming the server and the kind of credentials (never the credentials), and,
 * in-cluster, the bootstrap warning (docs/api-client.md).
 */
int kube_client_new(struct ev_loop *loop, struct kube_cache *cache,
		    const struct kube_client_options *opts, struct kube_client **ret_client,
		    char *err, size_t errlen) __attribute__((warn_unused_result));
struct kube_client *kube_client_free(struct kube_client *client);

/* Starts the three reflectors. 0 or -errno. */
int kube_client_start(struct kube_client *client) __attribute__((warn_unused_result));

/* True when all three kinds have had their first full list. */
bool kube_client_is_synced(const struct kube_client *client);

/*
 * Runs the loop until synced, or for at most timeout_ms. For one-shot commands (kipvs plan).
 * 0, or -ETIMEDOUT.
 */
int kube_client_run_until_synced(struct kube_client *client, unsigned timeout_ms)
	__attribute__((warn_unused_result));

/* True when the configuration came from the pod's service account. */
bool kube_client_is_in_cluster(const struct kube_client *client);

struct kube_http *kube_client_http(const struct kube_client *client);
struct kube_reflector *kube_client_reflector(const struct kube_client *client,
					     enum kube_kind kind);
