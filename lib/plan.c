/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The translation: cached Services and EndpointSlices, this node's name and addresses, and the
 * options in; the IPVS table this node must have out. A pure function (no kernel, no network,
 * no clock), per Service so that the work for a change follows the change. Rules: docs/plan.md.
 */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_model.h"
#include "net_addr.h"
#include "plan_internal.h"

#define LABEL_SERVICE_PROXY_NAME "service.kubernetes.io/service-proxy-name"
#define LABEL_HEADLESS "service.kubernetes.io/headless"

const char *plan_vs_kind_to_string(enum plan_vs_kind kind)
{
	switch (kind) {
	case PLAN_VS_CLUSTER_IP:
		return "ClusterIP";
	case PLAN_VS_EXTERNAL_IP:
		return "externalIP";
	case PLAN_VS_LOAD_BALANCER:
		return "LoadBalancer";
	case PLAN_VS_NODE_PORT:
		return "NodePort";
	case _PLAN_VS_KIND_MAX:
		break;
	}
	return "?";
}

const char *plan_note_kind_to_string(enum plan_note_kind kind)
{
	switch (kind) {
	case PLAN_NOTE_SKIPPED:
		return "skipped";
	case PLAN_NOTE_CONFLICT:
		return "conflict";
	case PLAN_NOTE_IGNORED:
		return "ignored";
	case PLAN_NOTE_UNUSED:
		return "unused";
	case PLAN_NOTE_REFUSED:
		return "refused";
	case _PLAN_NOTE_KIND_MAX:
		break;
	}
	return "?";
}

int plan_vs_key_compare(const struct plan_vs *a, const struct plan_vs *b)
{
	int r = net_addr_compare(&a->addr, &b->addr);

	/* net_addr_compare orders by family first; the key order is (family, proto, addr, port). */
	if (a->addr.family != b->addr.family)
		return r;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (r != 0)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

int plan_vs_key_qsort_compare(const void *a, const void *b)
{
	return plan_vs_key_compare(a, b);
}

const struct plan_vs *plan_table_find(const struct plan_table *t, const struct plan_vs *key)
{
	if (t->n_vs == 0)
		return NULL;
	return bsearch(key, t->vs, t->n_vs, sizeof(*t->vs), plan_vs_key_qsort_compare);
}

static void plan_vs_clear(struct plan_vs *vs)
{
	free(vs->dests);
	free(vs->svc_namespace);
	free(vs->svc_name);
	free(vs->port_name);
	memset(vs, 0, sizeof(*vs));
}

void plan_table_clear(struct plan_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->n_vs; i++)
		plan_vs_clear(&table->vs[i]);
	free(table->vs);
	table->vs = NULL;
	table->n_vs = 0;
}

const char *plan_service_skip_reason(const struct kube_service *svc, const char *proxy_name)
{
	if (svc->type == KUBE_SVC_EXTERNAL_NAME)
		return "type ExternalName";
	if (svc->headless)
		return "headless (clusterIP None)";
	/* Not headless, yet no address: every clusterIP was invalid (the decoder said which). */
	if (svc->n_cluster_ips == 0)
		return "invalid clusterIP: no usable address in spec.clusterIP(s)";
	/* kube_service_is_proxied() covers both labels; the headless one is told apart. */
	if (svc->label_headless)
		return "label " LABEL_HEADLESS;
	if (!kube_service_is_proxied(svc, proxy_name))
		return "label " LABEL_SERVICE_PROXY_NAME " names another proxy";
	return NULL;
}

static void plan_note_emit(const struct plan_input *in, enum plan_note_kind kind,
			   enum kube_kind object_kind, const struct kube_meta *meta,
			   const char *detail)
{
	struct plan_note note = {
	    .kind = kind,
	    .object_kind = object_kind,
	    .ns = meta->namespace ? meta->namespace : "",
	    .name = meta->name ? meta->name : "",
	    .detail = detail,
	};

	if (in->note)
		in->note(&note, in->note_userdata);
}

/* ---- Endpoints of one Service port and family ---- */

/* A candidate real server, before scoping. */
struct plan_ep {
	struct net_addr addr;
	uint16_t port;
	bool ready;
	bool
	    serving_terminating; /* serving && terminating: drains, or carries when none is ready */
	bool local;		 /* nodeName is this node */
	size_t order;		 /* position of discovery, for a stable choice between copies */
};

struct plan_eps {
	struct plan_ep *v;
	size_t n, cap;
};

struct plan_gather {
	const struct plan_input *in;
	const struct kube_svc_port *port;
	int family;
	struct plan_eps *eps;
};

static int plan_eps_push(struct plan_eps *eps, const struct plan_ep *ep)
{
	if (eps->n == eps->cap) {
		size_t cap = eps->cap ? eps->cap * 2 : 16;
		struct plan_ep *v = reallocarray(eps->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		eps->v = v;
		eps->cap = cap;
	}
	eps->v[eps->n++] = *ep;
	return 0;
}

static const struct kube_slice_port *plan_slice_port_find(const struct kube_endpoint_slice *slice,
							  const struct kube_svc_port *port)
{
	for (size_t i = 0; i < slice->n_ports; i++) {
		const struct kube_slice_port *sp = &slice->ports[i];
		const char *a = sp->name ? sp->name : "";
		const char *b = port->name ? port->name : "";

		if (sp->proto == port->proto && strcmp(a, b) == 0)
			return sp;
	}
	return NULL;
}

static int plan_gather_slice(const struct kube_endpoint_slice *slice, void *userdata)
{
	struct plan_gather *g = userdata;
	const struct kube_slice_port *sp;

	if (slice->family != g->family)
		return 0;
	sp = plan_slice_port_find(slice, g->port);
	if (!sp || sp->port == 0)
		return 0;
	for (size_t i = 0; i < slice->n_endpoints; i++) {
		const struct kube_endpoint *e = &slice->endpoints[i];
		struct plan_ep ep = {
		    .addr = e->addr,
		    .port = sp->port,
		    .ready = e->ready,
		    .serving_terminating = e->serving && e->terminating,
		    .local = g->in->node_name && e->node_name &&
			     strcmp(e->node_name, g->in->node_name) == 0,
		    .order = g->eps->n,
		};

		if (e->addr.family != g->family)
			continue;
		if (plan_eps_push(g->eps, &ep) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int plan_ep_rank(const struct plan_ep *ep)
{
	return ep->ready ? 2 : ep->serving_terminating ? 1 : 0;
}

/* By (address, port), then the better copy first (ready, then serving+terminating), then order. */
static int plan_ep_compare(const void *pa, const void *pb)
{
	const struct plan_ep *a = pa, *b = pb;
	int r = net_addr_compare(&a->addr, &b->addr);

	if (r != 0)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (plan_ep_rank(a) != plan_ep_rank(b))
		return plan_ep_rank(a) > plan_ep_rank(b) ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Sorts by (address, port) and keeps one copy of each, the ready one when there is one. */
static void plan_eps_dedup(struct plan_eps *eps)
{
	size_t w = 0;

	if (eps->n == 0)
		return;
	qsort(eps->v, eps->n, sizeof(*eps->v), plan_ep_compare);
	for (size_t r = 0; r < eps->n; r++) {
		if (w > 0 && net_addr_equal(&eps->v[w - 1].addr, &eps->v[r].addr) &&
		    eps->v[w - 1].port == eps->v[r].port)
			continue;
		eps->v[w++] = eps->v[r];
	}
	eps->n = w;
}

/*
 * The real servers of one scope (all endpoints, or this node's): ready ones weigh 1;
 * serving+terminating ones weigh 0 while the scope has a ready endpoint, 1 when it has none;
 * others are left out. Sorted by (address, port) because eps is. Returns the count or -ENOMEM;
 * *ret_dests is malloc'd (NULL when empty).
 */
static int plan_scope_dests(const struct plan_eps *eps, bool local_only,
			    struct plan_dest **ret_dests)
{
	_cleanup_free_ struct plan_dest *dests = NULL;
	bool has_ready = false;
	size_t n = 0;

	for (size_t i = 0; i < eps->n; i++)
		if (eps->v[i].ready && (!local_only || eps->v[i].local))
			has_ready = true;
	if (eps->n > 0) {
		dests = calloc(eps->n, sizeof(*dests));
		if (!dests)
			return -ENOMEM;
	}
	for (size_t i = 0; i < eps->n; i++) {
		const struct plan_ep *ep = &eps->v[i];

		if (local_only && !ep->local)
			continue;
		if (!ep->ready && !ep->serving_terminating)
			continue;
		dests[n].addr = ep->addr;
		dests[n].port = ep->port;
		dests[n].weight = ep->ready || !has_ready ? 1 : 0;
		n++;
	}
	if (n == 0) {
		free(dests);
		dests = NULL;
	}
	*ret_dests = TAKE_PTR(dests);
	return (int)n;
}

/* ---- Virtual servers of one Service ---- */

struct plan_vs_list {
	struct plan_vs *v;
	size_t n, cap;
};

static void plan_vs_list_clear(struct plan_vs_list *list)
{
	struct plan_table t = {.vs = list->v, .n_vs = list->n};

	plan_table_clear(&t);
	memset(list, 0, sizeof(*list));
}

/* Adds a virtual server with a copy of dests. 0 or -ENOMEM. */
static int plan_vs_list_add(struct plan_vs_list *list, const struct plan_input *in,
			    const struct kube_service *svc, const struct kube_svc_port *port,
			    enum plan_vs_kind kind, const struct net_addr *addr, uint16_t vport,
			    const struct plan_dest *dests, size_t n_dests)
{
	struct plan_vs *vs;
	const char *sched =
	    in->scheduler && in->scheduler[0] ? in->scheduler : PLAN_SCHEDULER_DEFAULT;

	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct plan_vs *v = reallocarray(list->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		list->v = v;
		list->cap = cap;
	}
	vs = &list->v[list->n];
	memset(vs, 0, sizeof(*vs));
	vs->addr = *addr;
	vs->proto = port->proto;
	vs->port = vport;
	(void)snprintf(vs->scheduler, sizeof(vs->scheduler), "%s", sched);
	vs->sched_flags = plan_scheduler_flags(sched);
	vs->persistent = svc->affinity_client_ip;
	vs->timeout = svc->affinity_client_ip ? svc->affinity_timeout : 0;
	if (vs->persistent && vs->timeout == 0)
		vs->timeout = KUBE_AFFINITY_TIMEOUT_DEFAULT;
	vs->kind = kind;
	vs->svc_namespace = strdup(svc->meta.namespace ? svc->meta.namespace : "");
	vs->svc_name = strdup(svc->meta.name ? svc->meta.name : "");
	vs->port_name = strdup(port->name ? port->name : "");
	if (n_dests > 0) {
		vs->dests = calloc(n_dests, sizeof(*vs->dests));
		if (vs->dests)
			memcpy(vs->dests, dests, n_dests * sizeof(*dests));
	}
	vs->n_dests = n_dests;
	if (!vs->svc_namespace || !vs->svc_name || !vs->port_name || (n_dests > 0 && !vs->dests)) {
		plan_vs_clear(vs);
		return -ENOMEM;
	}
	list->n++;
	return 0;
}

/* Which claim on a key wins: addresses the API server allocates before user-set ones. */
static int plan_vs_kind_rank(enum plan_vs_kind kind)
{
	switch (kind) {
	case PLAN_VS_CLUSTER_IP:
		return 0;
	case PLAN_VS_NODE_PORT:
		return 1;
	case PLAN_VS_LOAD_BALANCER:
		return 2;
	case PLAN_VS_EXTERNAL_IP:
		return 3;
	case _PLAN_VS_KIND_MAX:
		break;
	}
	return 4;
}

int plan_vs_claim_compare(const struct plan_vs *a, const struct plan_vs *b)
{
	int ra = plan_vs_kind_rank(a->kind), rb = plan_vs_kind_rank(b->kind);
	int r;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	r = strcmp(a->svc_namespace, b->svc_namespace);
	if (r != 0)
		return r;
	r = strcmp(a->svc_name, b->svc_name);
	if (r != 0)
		return r;
	return strcmp(a->port_name, b->port_name);
}

/* Key, then the winning claim first (qsort). */
static int plan_vs_sort_compare(const void *pa, const void *pb)
{
	const struct plan_vs *a = pa, *b = pb;
	int r = plan_vs_key_compare(a, b);

	return r != 0 ? r : plan_vs_claim_compare(a, b);
}

void plan_note_conflict(const struct plan_input *in, const struct plan_vs *loser,
			const struct plan_vs *winner)
{
	char addr[NET_ADDR_STRLEN];
	char detail[256];
	struct kube_meta meta = {.namespace = loser->svc_namespace, .name = loser->svc_name};

	(void)snprintf(detail, sizeof(detail), "%s %s/%s already used by %s of %s/%s",
		       plan_vs_kind_to_string(loser->kind),
		       net_addr_format_port(&loser->addr, loser->port, addr),
		       kube_proto_to_string(loser->proto), plan_vs_kind_to_string(winner->kind),
		       winner->svc_namespace, winner->svc_name);
	plan_note_emit(in, PLAN_NOTE_CONFLICT, KUBE_KIND_SERVICE, &meta, detail);
}

/* Sorts the list by claim and drops the losing claims of each key, noting them. */
static void plan_vs_list_resolve(struct plan_vs_list *list, const struct plan_input *in)
{
	size_t w = 0;

	if (list->n == 0)
		return;
	qsort(list->v, list->n, sizeof(*list->v), plan_vs_sort_compare);
	for (size_t r = 0; r < list->n; r++) {
		if (w > 0 && plan_vs_key_compare(&list->v[w - 1], &list->v[r]) == 0) {
			plan_note_conflict(in, &list->v[r], &list->v[w - 1]);
			plan_vs_clear(&list->v[r]);
			continue;
		}
		if (w != r)
			list->v[w] = list->v[r];
		w++;
	}
	list->n = w;
}

/* The virtual servers of one Service port in one family. 0 or -ENOMEM. */
static int plan_service_port(const struct plan_input *in, const struct kube_service *svc,
			     const struct kube_svc_port *port, const struct net_addr *cluster_ip,
			     struct plan_vs_list *list)
{
	struct plan_eps eps = {0};
	struct plan_gather g = {.in = in, .port = port, .family = cluster_ip->family, .eps = &eps};
	_cleanup_free_ struct plan_dest *internal = NULL;
	_cleanup_free_ struct plan_dest *external = NULL;
	int n_int, n_ext, r;

	r = kube_cache_foreach_slice_of(in->cache, svc->meta.namespace, svc->meta.name,
					plan_gather_slice, &g);
	if (r < 0) {
		free(eps.v);
		return r;
	}
	plan_eps_dedup(&eps);
	n_int = plan_scope_dests(&eps, svc->internal_policy == KUBE_POLICY_LOCAL, &internal);
	n_ext = n_int < 0
		    ? n_int
		    : plan_scope_dests(&eps, svc->external_policy == KUBE_POLICY_LOCAL, &external);
	free(eps.v);
	if (n_int < 0 || n_ext < 0)
		return -ENOMEM;

	r = plan_vs_list_add(list, in, svc, port, PLAN_VS_CLUSTER_IP, cluster_ip, port->port,
			     internal, (size_t)n_int);
	for (size_t i = 0; r >= 0 && i < svc->n_external_ips; i++)
		if (svc->external_ips[i].family == cluster_ip->family)
			r = plan_vs_list_add(list, in, svc, port, PLAN_VS_EXTERNAL_IP,
					     &svc->external_ips[i], port->port, external,
					     (size_t)n_ext);
	for (size_t i = 0; r >= 0 && i < svc->n_lb_ingress; i++) {
		const struct kube_lb_ingress *ing = &svc->lb_ingress[i];

		if (ing->ip.family == cluster_ip->family && !ing->ip_mode_proxy)
			r = plan_vs_list_add(list, in, svc, port, PLAN_VS_LOAD_BALANCER, &ing->ip,
					     port->port, external, (size_t)n_ext);
	}
	for (size_t i = 0; r >= 0 && port->node_port != 0 && i < in->n_node_addrs; i++)
		if (in->node_addrs[i].family == cluster_ip->family)
			r = plan_vs_list_add(list, in, svc, port, PLAN_VS_NODE_PORT,
					     &in->node_addrs[i], port->node_port, external,
					     (size_t)n_ext);
	return r;
}

/* Notes the addresses of a family the Service does not have: they get no virtual server. */
static void plan_service_note_foreign(const struct plan_input *in, const struct kube_service *svc,
				      const bool has_family[2])
{
	char addr[NET_ADDR_STRLEN];
	char detail[160];

	for (size_t i = 0; i < svc->n_external_ips; i++) {
		const struct net_addr *a = &svc->external_ips[i];

		if (has_family[a->family == AF_INET6])
			continue;
		(void)snprintf(detail, sizeof(detail),
			       "externalIP %s is of an IP family the Service does not have",
			       net_addr_format(a, addr));
		plan_note_emit(in, PLAN_NOTE_IGNORED, KUBE_KIND_SERVICE, &svc->meta, detail);
	}
	for (size_t i = 0; i < svc->n_lb_ingress; i++) {
		const struct net_addr *a = &svc->lb_ingress[i].ip;

		if (has_family[a->family == AF_INET6] || svc->lb_ingress[i].ip_mode_proxy)
			continue;
		(void)snprintf(
		    detail, sizeof(detail),
		    "load balancer ingress %s is of an IP family the Service does not have",
		    net_addr_format(a, addr));
		plan_note_emit(in, PLAN_NOTE_IGNORED, KUBE_KIND_SERVICE, &svc->meta, detail);
	}
}

/*
 * Notes each family whose LB addresses get virtual servers while loadBalancerSourceRanges has
 * no range of that family: the packet path then refuses every source there (fail closed, where
 * kube-proxy drops those ranges and allows everyone).
 */
static void plan_service_note_refused(const struct plan_input *in, const struct kube_service *svc,
				      const bool has_family[2])
{
	bool lb[2] = {false, false}, ranged[2] = {false, false};
	char detail[160];

	if (svc->n_lb_source_ranges == 0 || svc->n_ports == 0)
		return;
	for (size_t i = 0; i < svc->n_lb_ingress; i++)
		if (!svc->lb_ingress[i].ip_mode_proxy)
			lb[svc->lb_ingress[i].ip.family == AF_INET6] = true;
	for (size_t i = 0; i < svc->n_lb_source_ranges; i++)
		ranged[svc->lb_source_ranges[i].addr.family == AF_INET6] = true;
	for (int f = 0; f < 2; f++) {
		if (!has_family[f] || !lb[f] || ranged[f])
			continue;
		(void)snprintf(detail, sizeof(detail),
			       "loadBalancerSourceRanges has no %s range: every %s source is "
			       "refused at the load balancer addresses",
			       f ? "IPv6" : "IPv4", f ? "IPv6" : "IPv4");
		plan_note_emit(in, PLAN_NOTE_REFUSED, KUBE_KIND_SERVICE, &svc->meta, detail);
	}
}

/* Fills list with the Service's claims, unresolved. 0 or -ENOMEM. */
static int plan_service_collect(const struct plan_input *in, const struct kube_service *svc,
				struct plan_vs_list *list)
{
	const char *reason = plan_service_skip_reason(svc, in->proxy_name);
	bool has_family[2] = {false, false};

	if (reason) {
		plan_note_emit(in, PLAN_NOTE_SKIPPED, KUBE_KIND_SERVICE, &svc->meta, reason);
		return 0;
	}
	for (size_t f = 0; f < svc->n_cluster_ips; f++) {
		const struct net_addr *cip = &svc->cluster_ips[f];
		int fi = cip->family == AF_INET6;

		if (cip->family != AF_INET && cip->family != AF_INET6)
			continue;
		if (has_family[fi]) {
			plan_note_emit(in, PLAN_NOTE_IGNORED, KUBE_KIND_SERVICE, &svc->meta,
				       "second clusterIP of the same IP family");
			continue;
		}
		has_family[fi] = true;
		for (size_t p = 0; p < svc->n_ports; p++) {
			int r = plan_service_port(in, svc, &svc->ports[p], cip, list);

			if (r < 0)
				return r;
		}
	}
	plan_service_note_foreign(in, svc, has_family);
	plan_service_note_refused(in, svc, has_family);
	return 0;
}

int plan_service(const struct plan_input *in, const struct kube_service *svc,
		 struct plan_table *ret)
{
	struct plan_vs_list list = {0};
	int r = plan_service_collect(in, svc, &list);

	if (r < 0) {
		plan_vs_list_clear(&list);
		return r;
	}
	plan_vs_list_resolve(&list, in);
	ret->vs = list.v;
	ret->n_vs = list.n;
	return (int)list.n;
}

/* ---- The whole table ---- */

static int plan_build_slice(const struct kube_endpoint_slice *slice, void *userdata)
{
	const struct plan_input *in = userdata;

	if (!slice->service_name)
		plan_note_emit(in, PLAN_NOTE_UNUSED, KUBE_KIND_ENDPOINT_SLICE, &slice->meta,
			       "no label kubernetes.io/service-name");
	else if (!kube_cache_get_service(in->cache, slice->meta.namespace, slice->service_name))
		plan_note_emit(in, PLAN_NOTE_UNUSED, KUBE_KIND_ENDPOINT_SLICE, &slice->meta,
			       "no such Service here (absent, or not proxied by its labels)");
	return 0;
}

static void plan_merge_freep(struct plan_merge **m)
{
	(void)plan_merge_free(*m);
}

int plan_build(const struct plan_input *in, struct plan_table *ret)
{
	_cleanup_(plan_merge_freep) struct plan_merge *m = plan_merge_new();
	int r;

	if (!m)
		return -ENOMEM;
	/* The merge the daemon keeps, filled at once: both resolve conflicts the same way. */
	r = plan_merge_update_all(m, in);
	if (r < 0)
		return r;
	if (in->note)
		(void)kube_cache_foreach_slice(in->cache, plan_build_slice, (void *)in);
	return plan_merge_take(m, ret);
}
