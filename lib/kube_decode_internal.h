/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the decoders in kube_decode.c and kube_decode_slice.c: typed member access
 * that logs a wrong type once, port/protocol/address validation, and the log line format
 *   level=warn component=kube msg="dropped field" kind=Service svc=ns/name field=... value=...
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "kube_model.h"
#include "log.h"

/* The object being decoded, for log lines. */
struct kube_dec {
	const char *kind; /* "Service" */
	const char *key; /* the log key naming it: "svc", "slice", "node" */
	const char *ns; /* NULL until known */
	const char *name;
};

/* Writes one line about a field of the object (value may be NULL: not printed as such). */
void kube_dec_log(const struct kube_dec *d, enum log_level level, const char *msg,
		  const cJSON *value, const char *reason, const char *field_fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* parent[key] when it has the cJSON type `type`; NULL when absent, null, or (logged) another type. */
const cJSON *kube_dec_get(struct kube_dec *d, const cJSON *parent, const char *key, int type,
			  const char *path);
/* strdup into *ret; 0 or -ENOMEM. */
int kube_dec_strdup(const char *s, char **ret) __attribute__((warn_unused_result));
/* 1 and *ret_port for a number in 1-65535; 0 when absent or null; -EINVAL (logged) otherwise. */
int kube_dec_port(struct kube_dec *d, const cJSON *v, const char *path, uint16_t *ret_port);
/* parent.protocol: absent is TCP; 0, or -EINVAL (logged) for anything but TCP/UDP/SCTP. */
int kube_dec_proto(struct kube_dec *d, const cJSON *parent, const char *path,
		   enum kube_proto *ret_proto);
/* An IP address string; 0, or -EINVAL (logged). */
int kube_dec_addr(struct kube_dec *d, const cJSON *v, const char *path, struct net_addr *ret_addr);
size_t kube_dec_array_len(const cJSON *arr);
/*
 * An array of IP strings into a new array (NULL when no entry is valid), bad entries logged as
 * path[i] and dropped. 0 or -ENOMEM.
 */
int kube_dec_addr_list(struct kube_dec *d, const cJSON *arr, const char *path,
		       struct net_addr **ret_addrs, size_t *ret_n)
	__attribute__((warn_unused_result));
/*
 * metadata.name (required: -EINVAL, logged, when missing), namespace ("default" when a
 * namespaced object has none, "" otherwise), uid, resourceVersion; points d at the names.
 */
int kube_dec_meta(struct kube_dec *d, const cJSON *obj, bool namespaced, struct kube_meta *meta,
		  const cJSON **ret_metadata) __attribute__((warn_unused_result));
/* metadata.<map>[key] as a string; NULL when absent (a non-string is logged). */
const char *kube_dec_map_string(struct kube_dec *d, const cJSON *md, const char *map,
				const char *key);

static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

static inline void kube_service_freep(struct kube_service **p)
{
	kube_service_free(*p);
}

static inline void kube_endpoint_slice_freep(struct kube_endpoint_slice **p)
{
	kube_endpoint_slice_free(*p);
}

static inline void kube_node_freep(struct kube_node **p)
{
	kube_node_free(*p);
}
