/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IPVS table as plain values: keys, services, real servers, a hash-indexed table of what the
 * kernel holds, and the operation list. Shared by the diff, the netlink client and the fake.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

/* The plan's scheduler flags are the kernel's bits, so they go to the wire as they are. */
_Static_assert(PLAN_SCHED_F_FALLBACK == IP_VS_SVC_F_SCHED1 &&
		   PLAN_SCHED_F_PORT == IP_VS_SVC_F_SCHED2 && PLAN_SCHED_F_3 == IP_VS_SVC_F_SCHED3,
	       "plan scheduler flags differ from the kernel's");

void ipvs_key_init(struct ipvs_key *key, const struct net_addr *addr, uint16_t port,
		   uint8_t protocol)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, addr->bytes, sizeof(key->addr));
	key->af = (uint8_t)addr->family;
	key->port = port;
	key->protocol = protocol;
}

void ipvs_key_to_net_addr(const struct ipvs_key *key, struct net_addr *ret_addr)
{
	memset(ret_addr, 0, sizeof(*ret_addr));
	ret_addr->family = key->af;
	memcpy(ret_addr->bytes, key->addr, key->af == AF_INET ? 4 : 16);
}

/* Orders by family (IPv4 first), protocol, address, port: the plan's order. */
int ipvs_key_compare(const struct ipvs_key *a, const struct ipvs_key *b)
{
	int r;

	if (a->af != b->af)
		return a->af == AF_INET ? -1 : 1;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	r = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (r)
		return r < 0 ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

const char *ipvs_protocol_to_string(uint8_t protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	default:
		return "other";
	}
}

uint8_t ipvs_protocol_from_kube(enum kube_proto proto)
{
	switch (proto) {
	case KUBE_PROTO_TCP:
		return IPPROTO_TCP;
	case KUBE_PROTO_UDP:
		return IPPROTO_UDP;
	case KUBE_PROTO_SCTP:
		return IPPROTO_SCTP;
	case _KUBE_PROTO_MAX:
		break;
	}
	return 0;
}

const char *ipvs_key_format(const struct ipvs_key *key, char *buf)
{
	struct net_addr addr;
	char tmp[NET_ADDR_STRLEN];

	ipvs_key_to_net_addr(key, &addr);
	net_addr_format_port(&addr, key->port, tmp);
	if (key->protocol)
		snprintf(buf, IPVS_KEY_STRLEN, "%s/%s", tmp,
			 ipvs_protocol_to_string(key->protocol));
	else
		snprintf(buf, IPVS_KEY_STRLEN, "%s", tmp);
	return buf;
}

void ipvs_service_from_plan(const struct plan_vs *vs, struct ipvs_service *ret_svc)
{
	memset(ret_svc, 0, sizeof(*ret_svc));
	ipvs_key_init(&ret_svc->key, &vs->addr, vs->port, ipvs_protocol_from_kube(vs->proto));
	snprintf(ret_svc->sched, sizeof(ret_svc->sched), "%s",
		 vs->scheduler[0] ? vs->scheduler : "rr");
	ret_svc->flags = vs->sched_flags & PLAN_SCHED_F_MASK;
	if (vs->persistent) {
		ret_svc->flags |= IP_VS_SVC_F_PERSISTENT;
		ret_svc->timeout = vs->timeout;
	}
	ret_svc->netmask = vs->addr.family == AF_INET6 ? 128 : 0xffffffffu;
}

void ipvs_dest_from_plan(const struct plan_dest *d, struct ipvs_dest *ret_dest)
{
	memset(ret_dest, 0, sizeof(*ret_dest));
	ipvs_key_init(&ret_dest->key, &d->addr, d->port, 0);
	ret_dest->fwd = IP_VS_CONN_F_MASQ;
	ret_dest->weight = d->weight;
}

bool ipvs_service_attrs_equal(const struct ipvs_service *a, const struct ipvs_service *b)
{
	/* The kernel keeps the netmask and timeout of a non-persistent service but ignores them. */
	bool persistent = a->flags & IP_VS_SVC_F_PERSISTENT;

	return strcmp(a->sched, b->sched) == 0 && a->flags == b->flags &&
	       (!persistent || (a->timeout == b->timeout && a->netmask == b->netmask));
}

struct ipvs_vs *ipvs_table_find(const struct ipvs_table *t, const struct ipvs_key *key)
{
	struct ipvs_vs *vs = NULL;

	HASH_FIND(hh, t->vs, key, sizeof(*key), vs);
	return vs;
}

struct ipvs_vs *ipvs_table_put(struct ipvs_table *t, const struct ipvs_service *svc)
{
	struct ipvs_vs *vs = ipvs_table_find(t, &svc->key);

	if (!vs) {
		vs = calloc(1, sizeof(*vs));
		if (!vs)
			return NULL;
		vs->svc.key = svc->key;
		HASH_ADD(hh, t->vs, svc.key, sizeof(vs->svc.key), vs);
	}
	vs->svc = *svc;
	return vs;
}

static void ipvs_vs_free(struct ipvs_vs *vs)
{
	struct ipvs_rs *rs, *tmp;

	HASH_ITER(hh, vs->rs, rs, tmp)
	{
		HASH_DEL(vs->rs, rs);
		free(rs);
	}
	free(vs);
}

void ipvs_table_del(struct ipvs_table *t, const struct ipvs_key *key)
{
	struct ipvs_vs *vs = ipvs_table_find(t, key);

	if (!vs)
		return;
	HASH_DEL(t->vs, vs);
	ipvs_vs_free(vs);
}

struct ipvs_rs *ipvs_vs_find_rs(const struct ipvs_vs *vs, const struct ipvs_key *key)
{
	struct ipvs_rs *rs = NULL;

	HASH_FIND(hh, vs->rs, key, sizeof(*key), rs);
	return rs;
}

struct ipvs_rs *ipvs_vs_put_rs(struct ipvs_vs *vs, const struct ipvs_dest *dest)
{
	struct ipvs_rs *rs = ipvs_vs_find_rs(vs, &dest->key);

	if (!rs) {
		rs = calloc(1, sizeof(*rs));
		if (!rs)
			return NULL;
		rs->dest.key = dest->key;
		HASH_ADD(hh, vs->rs, dest.key, sizeof(rs->dest.key), rs);
	}
	rs->dest = *dest;
	return rs;
}

void ipvs_vs_del_rs(struct ipvs_vs *vs, const struct ipvs_key *key)
{
	struct ipvs_rs *rs = ipvs_vs_find_rs(vs, key);

	if (!rs)
		return;
	HASH_DEL(vs->rs, rs);
	free(rs);
}

size_t ipvs_table_count(const struct ipvs_table *t, size_t *ret_n_rs)
{
	struct ipvs_vs *vs, *tmp;
	size_t n_rs = 0;

	HASH_ITER(hh, t->vs, vs, tmp)
	n_rs += HASH_COUNT(vs->rs);
	if (ret_n_rs)
		*ret_n_rs = n_rs;
	return HASH_COUNT(t->vs);
}

void ipvs_table_clear(struct ipvs_table *t)
{
	struct ipvs_vs *vs, *tmp;

	if (!t)
		return;
	HASH_ITER(hh, t->vs, vs, tmp)
	{
		HASH_DEL(t->vs, vs);
		ipvs_vs_free(vs);
	}
}

static int ipvs_vs_order(const struct ipvs_vs *a, const struct ipvs_vs *b)
{
	return ipvs_key_compare(&a->svc.key, &b->svc.key);
}

static int ipvs_rs_order(const struct ipvs_rs *a, const struct ipvs_rs *b)
{
	return ipvs_key_compare(&a->dest.key, &b->dest.key);
}

void ipvs_table_sort(struct ipvs_table *t)
{
	struct ipvs_vs *vs, *tmp;

	HASH_SORT(t->vs, ipvs_vs_order);
	HASH_ITER(hh, t->vs, vs, tmp)
	HASH_SORT(vs->rs, ipvs_rs_order);
}

int ipvs_table_copy(const struct ipvs_table *src, struct ipvs_table *ret_dst)
{
	struct ipvs_table dst = {0};
	struct ipvs_vs *vs, *tmp, *nvs;
	struct ipvs_rs *rs, *rtmp, *nrs;

	HASH_ITER(hh, src->vs, vs, tmp)
	{
		nvs = ipvs_table_put(&dst, &vs->svc);
		if (!nvs)
			goto out_nomem;
		nvs->stats = vs->stats;
		HASH_ITER(hh, vs->rs, rs, rtmp)
		{
			nrs = ipvs_vs_put_rs(nvs, &rs->dest);
			if (!nrs)
				goto out_nomem;
			nrs->state = rs->state;
		}
	}
	*ret_dst = dst;
	return 0;
out_nomem:
	ipvs_table_clear(&dst);
	return -ENOMEM;
}

static void ipvs_service_write_args(const struct ipvs_service *svc, FILE *f)
{
	struct net_addr addr;
	char buf[NET_ADDR_STRLEN];
	const char *opt = svc->key.protocol == IPPROTO_UDP    ? "-u"
			  : svc->key.protocol == IPPROTO_SCTP ? "--sctp-service"
							      : "-t";

	ipvs_key_to_net_addr(&svc->key, &addr);
	fprintf(f, "%s %s", opt, net_addr_format_port(&addr, svc->key.port, buf));
}

static void ipvs_dest_write_args(const struct ipvs_dest *dest, FILE *f)
{
	struct net_addr addr;
	char buf[NET_ADDR_STRLEN];

	ipvs_key_to_net_addr(&dest->key, &addr);
	fprintf(f, " -r %s", net_addr_format_port(&addr, dest->key.port, buf));
}

static void ipvs_service_write_attrs(const struct ipvs_service *svc, FILE *f)
{
	char flags[PLAN_SCHED_FLAGS_STRLEN];

	fprintf(f, " -s %s", svc->sched);
	if (svc->flags & IP_VS_SVC_F_PERSISTENT) {
		fprintf(f, " -p %u", svc->timeout);
		if (svc->key.af == AF_INET6 && svc->netmask != 128)
			fprintf(f, " -M %u", svc->netmask);
	}
	if (svc->flags & PLAN_SCHED_F_MASK)
		fprintf(f, " -b %s", plan_sched_flags_format(svc->sched, svc->flags, flags));
}

static const char *ipvs_fwd_option(uint32_t fwd)
{
	switch (fwd & IP_VS_CONN_F_FWD_MASK) {
	case IP_VS_CONN_F_MASQ:
		return "-m";
	case IP_VS_CONN_F_TUNNEL:
		return "-i";
	default:
		return "-g";
	}
}

void ipvs_op_write(const struct ipvs_op *op, FILE *f)
{
	switch (op->kind) {
	case IPVS_OP_SERVICE_ADD:
	case IPVS_OP_SERVICE_SET:
		fputs(op->kind == IPVS_OP_SERVICE_ADD ? "-A " : "-E ", f);
		ipvs_service_write_args(&op->svc, f);
		ipvs_service_write_attrs(&op->svc, f);
		break;
	case IPVS_OP_SERVICE_DEL:
		fputs("-D ", f);
		ipvs_service_write_args(&op->svc, f);
		break;
	case IPVS_OP_DEST_ADD:
	case IPVS_OP_DEST_SET:
		fputs(op->kind == IPVS_OP_DEST_ADD ? "-a " : "-e ", f);
		ipvs_service_write_args(&op->svc, f);
		ipvs_dest_write_args(&op->dest, f);
		fprintf(f, " %s -w %u", ipvs_fwd_option(op->dest.fwd), op->dest.weight);
		break;
	case IPVS_OP_DEST_DEL:
		fputs("-d ", f);
		ipvs_service_write_args(&op->svc, f);
		ipvs_dest_write_args(&op->dest, f);
		break;
	case _IPVS_OP_KIND_MAX:
		break;
	}
	fputc('\n', f);
}

void ipvs_table_write(const struct ipvs_table *t, FILE *f)
{
	struct ipvs_vs *vs, *tmp;
	struct ipvs_rs *rs, *rtmp;
	struct ipvs_table copy;

	/* Sorting reorders the hash's iteration list only; work on a copy to keep t const. */
	if (ipvs_table_copy(t, &copy) < 0)
		return;
	ipvs_table_sort(&copy);
	HASH_ITER(hh, copy.vs, vs, tmp)
	{
		struct ipvs_op op = {.kind = IPVS_OP_SERVICE_ADD, .svc = vs->svc};

		ipvs_op_write(&op, f);
		HASH_ITER(hh, vs->rs, rs, rtmp)
		{
			struct ipvs_op dop = {
			    .kind = IPVS_OP_DEST_ADD, .svc = vs->svc, .dest = rs->dest};

			ipvs_op_write(&dop, f);
		}
	}
	ipvs_table_clear(&copy);
}

const char *ipvs_op_kind_to_string(enum ipvs_op_kind kind)
{
	switch (kind) {
	case IPVS_OP_SERVICE_ADD:
		return "add_service";
	case IPVS_OP_SERVICE_SET:
		return "set_service";
	case IPVS_OP_SERVICE_DEL:
		return "del_service";
	case IPVS_OP_DEST_ADD:
		return "add_dest";
	case IPVS_OP_DEST_SET:
		return "set_dest";
	case IPVS_OP_DEST_DEL:
		return "del_dest";
	case _IPVS_OP_KIND_MAX:
		break;
	}
	return "unknown";
}

int ipvs_oplist_append(struct ipvs_oplist *l, const struct ipvs_op *op)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ipvs_op *ops = reallocarray(l->ops, cap, sizeof(*ops));

		if (!ops)
			return -ENOMEM;
		l->ops = ops;
		l->cap = cap;
	}
	l->ops[l->n++] = *op;
	return 0;
}

void ipvs_oplist_clear(struct ipvs_oplist *l)
{
	if (!l)
		return;
	free(l->ops);
	l->ops = NULL;
	l->n = l->cap = 0;
}

int ipvs_table_service_cb(const struct ipvs_service *svc, const struct ipvs_stats *stats,
			  void *table)
{
	struct ipvs_vs *vs = ipvs_table_put(table, svc);

	if (!vs)
		return -ENOMEM;
	vs->stats = *stats;
	return 0;
}

int ipvs_vs_dest_cb(const struct ipvs_dest *dest, const struct ipvs_dest_state *state, void *vs)
{
	struct ipvs_rs *rs = ipvs_vs_put_rs(vs, dest);

	if (!rs)
		return -ENOMEM;
	rs->state = *state;
	return 0;
}
