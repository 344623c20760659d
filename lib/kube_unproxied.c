/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Remembers the Services the proxy filter dropped (kube_unproxied.h), so that "service not
 * proxied" is reported once per Service and reason: `kipvs plan --from` shows every one on
 * stderr, and the daemon's re-reads and relists do not repeat them.
 */
#include "kube_unproxied.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "kube_model.h"
#include "log.h"

struct kube_unproxied {
	UT_hash_handle hh;
	char *key; /* namespace/name */
	char *reason;
};

static struct kube_unproxied *kube_unproxied_entry_free(struct kube_unproxied *e)
{
	if (!e)
		return NULL;
	free(e->key);
	free(e->reason);
	free(e);
	return NULL;
}

static struct kube_unproxied *kube_unproxied_find(const struct kube_unproxied *set, const char *key)
{
	struct kube_unproxied *head = (struct kube_unproxied *)set, *e = NULL;

	HASH_FIND_STR(head, key, e);
	return e;
}

static void kube_unproxied_remove(struct kube_unproxied **set, const char *key)
{
	struct kube_unproxied *e = kube_unproxied_find(*set, key);

	if (e) {
		HASH_DEL(*set, e);
		kube_unproxied_entry_free(e);
	}
}

int kube_unproxied_filter(const struct kube_unproxied *prev, struct kube_unproxied **next,
			  const struct kube_service *svc, const char *proxy_name)
{
	const struct kube_unproxied *seen;
	struct kube_unproxied *e;
	char *key, *reason;
	char qreason[320];
	int r;

	if (kube_service_is_proxied(svc, proxy_name)) {
		if (!*next)
			return 1; /* nothing dropped so far: no key to build */
		if (asprintf(&key, "%s/%s", svc->meta.namespace, svc->meta.name) < 0)
			return -ENOMEM;
		kube_unproxied_remove(next, key);
		free(key);
		return 1;
	}
	if (svc->label_headless)
		r = asprintf(&reason, "label service.kubernetes.io/headless");
	else
		r = asprintf(&reason, "label service.kubernetes.io/service-proxy-name=%s",
			     svc->service_proxy_name ? svc->service_proxy_name : "");
	if (r < 0)
		return -ENOMEM;
	if (asprintf(&key, "%s/%s", svc->meta.namespace, svc->meta.name) < 0) {
		free(reason);
		return -ENOMEM;
	}
	seen = kube_unproxied_find(prev, key);
	if (!seen || strcmp(seen->reason, reason) != 0)
		log_info("kube", "service not proxied", "svc=%s reason=%s", key,
			 log_quote(qreason, sizeof(qreason), reason));
	/* Recorded anew (after the lookup: prev may be *next). */
	kube_unproxied_remove(next, key);
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(key);
		free(reason);
		return -ENOMEM;
	}
	e->key = key;
	e->reason = reason;
	HASH_ADD_KEYPTR(hh, *next, e->key, strlen(e->key), e);
	return 0;
}

void kube_unproxied_forget(struct kube_unproxied **set, const char *ns, const char *name)
{
	char *key;

	if (!*set || asprintf(&key, "%s/%s", ns, name) < 0)
		return;
	kube_unproxied_remove(set, key);
	free(key);
}

struct kube_unproxied *kube_unproxied_free(struct kube_unproxied *set)
{
	struct kube_unproxied *e, *tmp;

	HASH_ITER(hh, set, e, tmp)
	{
		HASH_DEL(set, e);
		kube_unproxied_entry_free(e);
	}
	return NULL;
}
