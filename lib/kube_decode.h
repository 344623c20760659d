/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib-internal: decoding of Kubernetes JSON (a cJSON tree) into the typed model
 * (kube_model.h). Only lib/kube_*.c include this header (style.md §1: cJSON stays there).
 *
 * The decoder validates as it goes. A bad field (an address that does not parse, a port outside
 * 1-65535, an unknown protocol, ...) is logged once, naming the kind, namespace/name and the
 * field, and dropped; the rest of the object is kept. An object that cannot be used at all (no
 * metadata.name, an FQDN or unknown addressType, an unknown Service type) is logged and
 * rejected. The decoder never keeps a pointer into the tree.
 */
#pragma once

#include <cjson/cJSON.h>

#include "kube_cache.h"
#include "kube_model.h"

/*
 * Each decodes one object of its kind. Returns 0 and a new object in *ret_* (free it with its
 * kube_*_free(), or hand it to a cache), -EINVAL when the object is rejected (logged at warn),
 * -EOPNOTSUPP for an EndpointSlice with addressType FQDN (legal but unusable; logged at info),
 * or -ENOMEM. The `kind` member of obj is not checked. A Service or EndpointSlice without
 * metadata.namespace is put in "default", as kubectl apply would.
 */
int kube_decode_service(const cJSON *obj, struct kube_service **ret_svc)
	__attribute__((warn_unused_result));
int kube_decode_endpoint_slice(const cJSON *obj, struct kube_endpoint_slice **ret_slice)
	__attribute__((warn_unused_result));
int kube_decode_node(const cJSON *obj, struct kube_node **ret_node)
	__attribute__((warn_unused_result));

/* One decoded object of any of the three kinds; exactly the member for `kind` is set. */
struct kube_object {
	enum kube_kind kind;
	union {
		struct kube_service *svc;
		struct kube_endpoint_slice *slice;
		struct kube_node *node;
	};
};

/* Frees the object it holds and leaves it empty. Accepts an empty object. */
void kube_object_clear(struct kube_object *obj);
/* The namespace and name of the held object ("" namespace for a Node). */
const struct kube_meta *kube_object_meta(const struct kube_object *obj);

/*
 * Maps "Service", "EndpointSlice", "Node" and their list kinds ("ServiceList", ...) to the
 * kind. 0, or -ENOENT for any other string (or NULL).
 */
int kube_kind_from_string(const char *text, enum kube_kind *ret_kind)
	__attribute__((warn_unused_result));

/*
 * Decodes one object of any of the three kinds, chosen by its "kind" member or, when it has
 * none (the items of an API list response), by kind_hint (the list's kind, e.g.
 * "EndpointSliceList", or the object's kind; NULL when unknown). Returns 0 and fills *ret_obj;
 * -ENOMSG when the object is of another kind (Pod, Deployment, ...: not logged, the caller
 * decides), or the errors of kube_decode_service() and friends.
 */
int kube_decode_object(const cJSON *obj, const char *kind_hint, struct kube_object *ret_obj)
	__attribute__((warn_unused_result));

/*
 * Called for each decoded object of a document; takes ownership of the object's contents (the
 * callee clears or keeps them). A negative return stops the walk and is returned.
 */
typedef int (*kube_decode_object_fn)(struct kube_object *obj, void *userdata);

/*
 * Decodes a document: a kubectl List or an API list ("List", "ServiceList", ...: its items,
 * which may or may not carry their own kind) or a single object. Objects of other kinds are
 * skipped silently (manifests hold Deployments too); rejected objects are logged and skipped.
 * `origin` (a file name, or NULL) is named in the document-level log lines. Returns the number
 * of objects handed to fn, -EBADMSG when the document is not a JSON object, -ENOMEM, or fn's
 * negative return. The same as kube_decode_document_shape() and then kube_decode_item() for
 * the document or for each of its items.
 */
int kube_decode_document(const cJSON *doc, const char *origin, kube_decode_object_fn fn,
			 void *userdata) __attribute__((warn_unused_result));

/* What a document holds, for decoding its items one at a time (kube_manifest.c). */
enum kube_doc_shape {
	KUBE_DOC_EMPTY,	 /* nothing to decode: null, or a list of another kind (PodList) */
	KUBE_DOC_OBJECT, /* one object: kube_decode_item(doc, NULL, ...) */
	KUBE_DOC_LIST,	 /* kube_decode_item(item, list kind, ...) for each of its items */
	_KUBE_DOC_SHAPE_MAX,
};

/*
 * Tells what doc is from its members other than the elements of "items" (which it does not
 * read: a caller may pass the document with an empty items array in their place). Returns
 * the shape, with *ret_list_kind (a string in doc) for KUBE_DOC_LIST; or -EBADMSG, logged
 * naming origin, when doc is not an object or null, or is a list whose items is not an array.
 */
int kube_decode_document_shape(const cJSON *doc, const char *origin, const char **ret_list_kind)
	__attribute__((warn_unused_result));

/*
 * Decodes one object of a document (kind_hint as kube_decode_object()) and hands it to fn.
 * Returns 1 when it did, 0 when the object is of another kind or was rejected (logged),
 * -ENOMEM, or fn's negative return.
 */
int kube_decode_item(const cJSON *item, const char *kind_hint, kube_decode_object_fn fn,
		     void *userdata) __attribute__((warn_unused_result));
