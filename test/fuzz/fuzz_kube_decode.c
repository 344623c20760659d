/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the JSON decoder (and the YAML front end that feeds it), which sees every object the
 * API server or a manifest sends: whatever decodes must keep the model's promises (counts
 * match pointers, ports in range, names set), and nothing may crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kube_decode.h"
#include "kube_yaml.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(const struct kube_object *o)
{
	const struct kube_meta *meta = kube_object_meta(o);

	if (!meta || !meta->name || !*meta->name || !meta->namespace)
		abort();
	switch (o->kind) {
	case KUBE_KIND_SERVICE:
		if ((o->svc->n_ports == 0) != (o->svc->ports == NULL) ||
		    (o->svc->n_cluster_ips == 0) != (o->svc->cluster_ips == NULL) ||
		    o->svc->n_ip_families > 2 || o->svc->affinity_timeout < 1 ||
		    o->svc->affinity_timeout > 86400)
			abort();
		for (size_t i = 0; i < o->svc->n_ports; i++)
			if (o->svc->ports[i].port == 0 || !o->svc->ports[i].name)
				abort();
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		if ((o->slice->n_endpoints == 0) != (o->slice->endpoints == NULL))
			abort();
		for (size_t i = 0; i < o->slice->n_endpoints; i++)
			if (o->slice->endpoints[i].addr.family != o->slice->family)
				abort();
		for (size_t i = 0; i < o->slice->n_ports; i++)
			if (o->slice->ports[i].port == 0)
				abort();
		break;
	case KUBE_KIND_NODE:
		if ((o->node->n_internal_ips == 0) != (o->node->internal_ips == NULL))
			abort();
		break;
	case _KUBE_KIND_MAX:
		abort();
	}
}

static int fuzz_on_object(struct kube_object *obj, void *userdata)
{
	fuzz_check(obj);
	kube_object_clear(obj);
	return 0;
}

static void fuzz_tree(const cJSON *doc)
{
	static const char *const hints[] = {"Service", "EndpointSlice", "Node"};
	struct kube_object o;

	(void)kube_decode_document(doc, "fuzz", fuzz_on_object, NULL);
	/* As an API list item without a kind, under each kind. */
	for (size_t i = 0; i < 3; i++)
		if (kube_decode_object(doc, hints[i], &o) == 0) {
			fuzz_check(&o);
			kube_object_clear(&o);
		}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The decoder logs every bad field; keep the fuzzer's output readable and fast. */
	log_set_stream(fopen("/dev/null", "we"));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *doc, *docs = NULL;
	const cJSON *d;
	char err[128];

	doc = cJSON_ParseWithLength((const char *)data, size);
	if (doc) {
		fuzz_tree(doc);
		cJSON_Delete(doc);
	}
	if (size <= 65536 && kube_yaml_parse((const char *)data, size, &docs, err, sizeof(err)) == 0) {
		cJSON_ArrayForEach(d, docs)
			fuzz_tree(d);
		cJSON_Delete(docs);
	}
	return 0;
}
