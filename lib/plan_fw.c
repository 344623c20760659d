/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet-path sets (lib/plan_fw.h): from the IPVS plan and the cached Services to the
 * elements of each nftables set. Pure, so the whole packet-path policy is unit-tested without
 * a kernel; ipvs/fw_nft.c only turns the result into element adds and deletes.
 */
#include "plan_fw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *plan_fw_set_to_string(enum plan_fw_set set)
{
	switch (set) {
	case PLAN_FW_SET_VIP:
		return "vip";
	case PLAN_FW_SET_CLUSTER_IP:
		return "cluster_ip";
	case PLAN_FW_SET_EXTERNAL:
		return "external";
	case PLAN_FW_SET_EXTERNAL_LOCAL:
		return "external_local";
	case PLAN_FW_SET_NODE_PORT:
		return "node_port";
	case PLAN_FW_SET_NODE_PORT_LOCAL:
		return "node_port_local";
	case PLAN_FW_SET_NO_LOCAL:
		return "no_local";
	case PLAN_FW_SET_NODE_PORT_NO_LOCAL:
		return "node_port_no_local";
	case PLAN_FW_SET_HAIRPIN:
		return "hairpin";
	case PLAN_FW_SET_LB_FILTERED:
		return "lb_filtered";
	case PLAN_FW_SET_LB_SOURCE:
		return "lb_source";
	case PLAN_FW_SET_HC_NODE_PORT:
		return "hc_node_port";
	case _PLAN_FW_SET_MAX:
		break;
	}
	return "unknown";
}

static int plan_fw_cmp_int(long a, long b)
{
	return (a > b) - (a < b);
}

int plan_fw_elem_compare(const struct plan_fw_elem *a, const struct plan_fw_elem *b)
{
	int r;

	if ((r = plan_fw_cmp_int(a->set, b->set)))
		return r;
	if ((r = plan_fw_cmp_int(a->addr.family, b->addr.family)))
		return r;
	if ((r = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes))))
		return r;
	if ((r = plan_fw_cmp_int(a->proto, b->proto)))
		return r;
	if ((r = plan_fw_cmp_int(a->port, b->port)))
		return r;
	if ((r = plan_fw_cmp_int(a->addr2.family, b->addr2.family)))
		return r;
	if ((r = memcmp(a->addr2.bytes, b->addr2.bytes, sizeof(a->addr2.bytes))))
		return r;
	return plan_fw_cmp_int(a->prefix_len, b->prefix_len);
}

static int plan_fw_qsort_cmp(const void *a, const void *b)
{
	return plan_fw_elem_compare(a, b);
}

void plan_fw_clear(struct plan_fw *fw)
{
	if (!fw)
		return;
	free(fw->elems);
	fw->elems = NULL;
	fw->n_elems = 0;
}

/* The growing array plan_fw_build() fills. */
struct plan_fw_builder {
	struct plan_fw fw;
	size_t cap;
};

static int plan_fw_push(struct plan_fw_builder *b, const struct plan_fw_elem *e)
{
	if (b->fw.n_elems == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct plan_fw_elem *n = reallocarray(b->fw.elems, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->fw.elems = n;
		b->cap = cap;
	}
	b->fw.elems[b->fw.n_elems++] = *e;
	return 0;
}

/* An element of `set` with the virtual server's address . proto . port. */
static int plan_fw_push_vs(struct plan_fw_builder *b, enum plan_fw_set set,
			   const struct plan_vs *vs)
{
	struct plan_fw_elem e = {
	    .set = set, .addr = vs->addr, .proto = vs->proto, .port = vs->port};

	return plan_fw_push(b, &e);
}

static bool plan_fw_is_node_addr(const struct plan_fw_input *in, const struct net_addr *a)
{
	for (size_t i = 0; i < in->n_node_addrs; i++)
		if (net_addr_equal(&in->node_addrs[i], a))
			return true;
	return false;
}

static int plan_fw_push_lb_source(struct plan_fw_builder *b, const struct plan_vs *vs,
				  const struct net_addr *source, uint8_t prefix_len)
{
	struct plan_fw_elem e = {.set = PLAN_FW_SET_LB_SOURCE,
				 .addr = vs->addr,
				 .proto = vs->proto,
				 .port = vs->port,
				 .addr2 = *source,
				 .prefix_len = prefix_len};

	return plan_fw_push(b, &e);
}

static bool plan_fw_prefix_holds_node(const struct plan_fw_input *in, const struct net_prefix *p)
{
	for (size_t i = 0; i < in->n_node_addrs; i++)
		if (net_prefix_contains(p, &in->node_addrs[i]))
			return true;
	return false;
}

/*
 * The source filter of an LB virtual server whose Service has loadBalancerSourceRanges: the
 * entry in LB_FILTERED and an LB_SOURCE element per range of the VIP's family. Ranges only of
 * the other family still filter, so every source is refused (fail closed; plan.c notes it). A
 * range holding a node address lets the node itself in: its traffic to the VIP, a local
 * address, leaves with the VIP as its source, so the VIP is an allowed source too (as in
 * kube-proxy).
 */
static int plan_fw_add_lb_ranges(struct plan_fw_builder *b, const struct plan_fw_input *in,
				 const struct plan_vs *vs, const struct kube_service *svc)
{
	bool node_inside = false;
	int r = plan_fw_push_vs(b, PLAN_FW_SET_LB_FILTERED, vs);

	for (size_t i = 0; r == 0 && i < svc->n_lb_source_ranges; i++) {
		const struct net_prefix *p = &svc->lb_source_ranges[i];

		if (p->addr.family != vs->addr.family)
			continue;
		r = plan_fw_push_lb_source(b, vs, &p->addr, p->len);
		node_inside |= plan_fw_prefix_holds_node(in, p);
	}
	if (r == 0 && node_inside)
		r = plan_fw_push_lb_source(b, vs, &vs->addr, (uint8_t)net_addr_bits(&vs->addr));
	return r;
}

/* The elements one virtual server contributes. svc may be NULL (not cached). */
static int plan_fw_add_vs(struct plan_fw_builder *b, const struct plan_fw_input *in,
			  const struct plan_vs *vs, const struct kube_service *svc)
{
	bool local = svc && svc->external_policy == KUBE_POLICY_LOCAL;
	bool none_local = local && vs->n_dests == 0;
	int r = 0;

	switch (vs->kind) {
	case PLAN_VS_CLUSTER_IP:
		r = plan_fw_push_vs(b, PLAN_FW_SET_CLUSTER_IP, vs);
		break;
	case PLAN_VS_EXTERNAL_IP:
	case PLAN_VS_LOAD_BALANCER:
		r = plan_fw_push_vs(b, local ? PLAN_FW_SET_EXTERNAL_LOCAL : PLAN_FW_SET_EXTERNAL,
				    vs);
		if (r == 0 && none_local)
			r = plan_fw_push_vs(b, PLAN_FW_SET_NO_LOCAL, vs);
		break;
	case PLAN_VS_NODE_PORT:
		/*
		 * By the NodePort virtual server's address (a node address), never by port alone:
		 * a ClusterIP, externalIP or LB address is local too, and one whose port is another
		 * Service's nodePort must not be dropped or masqueraded as that NodePort.
		 */
		r = plan_fw_push_vs(b, local ? PLAN_FW_SET_NODE_PORT_LOCAL : PLAN_FW_SET_NODE_PORT,
				    vs);
		if (r == 0 && none_local)
			r = plan_fw_push_vs(b, PLAN_FW_SET_NODE_PORT_NO_LOCAL, vs);
		break;
	case _PLAN_VS_KIND_MAX:
		break;
	}
	if (r < 0)
		return r;

	/* VIPs (never a node address: the VIP filter would cut off the node's own sshd). */
	if (vs->kind != PLAN_VS_NODE_PORT && !plan_fw_is_node_addr(in, &vs->addr)) {
		struct plan_fw_elem e = {.set = PLAN_FW_SET_VIP, .addr = vs->addr};

		if ((r = plan_fw_push(b, &e)) < 0)
			return r;
	}

	for (size_t i = 0; i < vs->n_dests; i++) {
		const struct plan_dest *d = &vs->dests[i];
		struct plan_fw_elem e = {.set = PLAN_FW_SET_HAIRPIN,
					 .addr = d->addr,
					 .proto = vs->proto,
					 .port = d->port,
					 .addr2 = d->addr};

		if ((r = plan_fw_push(b, &e)) < 0)
			return r;
	}

	if (vs->kind == PLAN_VS_LOAD_BALANCER && svc && svc->n_lb_source_ranges > 0 &&
	    (r = plan_fw_add_lb_ranges(b, in, vs, svc)) < 0)
		return r;

	if (svc && svc->health_check_node_port && local) {
		struct plan_fw_elem e = {.set = PLAN_FW_SET_HC_NODE_PORT,
					 .proto = KUBE_PROTO_TCP,
					 .port = svc->health_check_node_port};

		if ((r = plan_fw_push(b, &e)) < 0)
			return r;
	}
	return 0;
}

/* Sorts and removes duplicates in place. */
static void plan_fw_normalize(struct plan_fw *fw)
{
	size_t w = 0;

	if (fw->n_elems == 0)
		return;
	qsort(fw->elems, fw->n_elems, sizeof(*fw->elems), plan_fw_qsort_cmp);
	for (size_t i = 1; i < fw->n_elems; i++)
		if (plan_fw_elem_compare(&fw->elems[w], &fw->elems[i]) != 0)
			fw->elems[++w] = fw->elems[i];
	fw->n_elems = w + 1;
}

static uint64_t plan_fw_hash(uint64_t h, const void *p, size_t len)
{
	const uint8_t *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

/* FNV-1a of elements, field by field (the struct's padding is not hashed), in their order. */
static uint64_t plan_fw_elems_digest(const struct plan_fw_elem *e, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		uint32_t head[3] = {(uint32_t)e[i].set, (uint32_t)e[i].proto, e[i].port};

		h = plan_fw_hash(h, head, sizeof(head));
		h = plan_fw_hash(h, &e[i].addr.family, sizeof(e[i].addr.family));
		h = plan_fw_hash(h, e[i].addr.bytes, sizeof(e[i].addr.bytes));
		h = plan_fw_hash(h, &e[i].addr2.family, sizeof(e[i].addr2.family));
		h = plan_fw_hash(h, e[i].addr2.bytes, sizeof(e[i].addr2.bytes));
		h = plan_fw_hash(h, &e[i].prefix_len, sizeof(e[i].prefix_len));
	}
	return h;
}

static const struct kube_service *plan_fw_service_of(const struct plan_fw_input *in,
						     const struct plan_vs *vs)
{
	if (!in->cache || !vs->svc_namespace || !vs->svc_name)
		return NULL;
	return kube_cache_get_service(in->cache, vs->svc_namespace, vs->svc_name);
}

int plan_fw_vs_digest(const struct plan_fw_input *in, const struct plan_vs *vs,
		      uint64_t *ret_digest)
{
	struct plan_fw_builder b = {0};
	int r = plan_fw_add_vs(&b, in, vs, plan_fw_service_of(in, vs));

	if (r == 0)
		*ret_digest = plan_fw_elems_digest(b.fw.elems, b.fw.n_elems);
	plan_fw_clear(&b.fw);
	return r;
}

int plan_fw_build_each(const struct plan_fw_input *in, struct plan_fw *ret, plan_fw_vs_fn fn,
		       void *userdata)
{
	struct plan_fw_builder b = {0};

	for (size_t i = 0; in->plan && i < in->plan->n_vs; i++) {
		const struct plan_vs *vs = &in->plan->vs[i];
		size_t first = b.fw.n_elems;
		int r;

		if ((r = plan_fw_add_vs(&b, in, vs, plan_fw_service_of(in, vs))) < 0) {
			plan_fw_clear(&b.fw);
			return r;
		}
		if (fn)
			fn(vs, plan_fw_elems_digest(b.fw.elems + first, b.fw.n_elems - first),
			   userdata);
	}
	plan_fw_normalize(&b.fw);
	*ret = b.fw;
	return (int)ret->n_elems;
}

int plan_fw_build(const struct plan_fw_input *in, struct plan_fw *ret)
{
	return plan_fw_build_each(in, ret, NULL, NULL);
}

int plan_fw_diff(const struct plan_fw *from, const struct plan_fw *to, struct plan_fw *ret_add,
		 struct plan_fw *ret_del)
{
	struct plan_fw_builder add = {0}, del = {0};
	size_t i = 0, j = 0;
	int r = 0;

	while (r == 0 && (i < from->n_elems || j < to->n_elems)) {
		int c;

		if (i == from->n_elems)
			c = 1;
		else if (j == to->n_elems)
			c = -1;
		else
			c = plan_fw_elem_compare(&from->elems[i], &to->elems[j]);
		if (c < 0) {
			if (ret_del)
				r = plan_fw_push(&del, &from->elems[i]);
			i++;
		} else if (c > 0) {
			if (ret_add)
				r = plan_fw_push(&add, &to->elems[j]);
			j++;
		} else {
			i++;
			j++;
		}
	}
	if (r < 0) {
		plan_fw_clear(&add.fw);
		plan_fw_clear(&del.fw);
		return r;
	}
	if (ret_add)
		*ret_add = add.fw;
	if (ret_del)
		*ret_del = del.fw;
	return 0;
}

/* True when every real server of a (by address and port) is in b; both sorted. */
static bool plan_fw_dests_kept(const struct plan_vs *a, const struct plan_vs *b)
{
	size_t j = 0;

	for (size_t i = 0; i < a->n_dests; i++) {
		while (j < b->n_dests &&
		       (net_addr_compare(&b->dests[j].addr, &a->dests[i].addr) < 0 ||
			(net_addr_equal(&b->dests[j].addr, &a->dests[i].addr) &&
			 b->dests[j].port < a->dests[i].port)))
			j++;
		if (j == b->n_dests || !net_addr_equal(&b->dests[j].addr, &a->dests[i].addr) ||
		    b->dests[j].port != a->dests[i].port)
			return false;
	}
	return true;
}

size_t plan_fw_udp_stale(const struct plan_table *before, const struct plan_table *after,
			 plan_fw_udp_fn fn, void *userdata)
{
	size_t i = 0, j = 0, n = 0;
	size_t nb = before ? before->n_vs : 0, na = after ? after->n_vs : 0;

	while (i < nb || j < na) {
		const struct plan_vs *b = i < nb ? &before->vs[i] : NULL;
		const struct plan_vs *a = j < na ? &after->vs[j] : NULL;
		int c = !b ? 1 : !a ? -1 : plan_vs_key_compare(b, a);
		bool stale;

		if (c < 0) { /* gone */
			stale = b->proto == KUBE_PROTO_UDP && b->n_dests > 0;
			if (stale)
				fn(&b->addr, b->port, NULL, userdata);
			i++;
		} else if (c > 0) { /* new: entries made while it did not exist */
			stale = a->proto == KUBE_PROTO_UDP && a->n_dests > 0;
			if (stale)
				fn(&a->addr, a->port, a, userdata);
			j++;
		} else {
			stale = a->proto == KUBE_PROTO_UDP &&
				((b->n_dests == 0 && a->n_dests > 0) || !plan_fw_dests_kept(b, a));
			if (stale)
				fn(&a->addr, a->port, a, userdata);
			i++;
			j++;
		}
		n += stale;
	}
	return n;
}
