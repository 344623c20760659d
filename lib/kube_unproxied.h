/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy filter with a memory: the file source and the API reflector drop the Services that
 * kube_service_is_proxied() rejects, and report each one on stderr once (info level), not again
 * on every re-read of an unchanged file or every relist. lib-internal.
 */
#pragma once

struct kube_service;

/* A set of dropped Services (namespace/name and why). NULL is the empty set. */
struct kube_unproxied;

/*
 * Applies kube_service_is_proxied(svc, proxy_name). A proxied Service returns 1 and is taken
 * out of *next. An unproxied one returns 0 and is recorded in *next with its reason; unless
 * prev already holds it with the same reason, one line is logged:
 *   level=info component=kube msg="service not proxied" svc=ns/name
 *   reason="label service.kubernetes.io/service-proxy-name=other"
 * prev may be NULL, or *next itself (one set kept up to date). -ENOMEM (nothing logged).
 */
int kube_unproxied_filter(const struct kube_unproxied *prev, struct kube_unproxied **next,
			  const struct kube_service *svc, const char *proxy_name)
    __attribute__((warn_unused_result));

/* Takes namespace/name out of *set (the Service was deleted). */
void kube_unproxied_forget(struct kube_unproxied **set, const char *ns, const char *name);

/* Frees the set. Accepts NULL; returns NULL. */
struct kube_unproxied *kube_unproxied_free(struct kube_unproxied *set);
