/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads `ipvsadm -R` lines ("-A -t 10.0.0.1:80 -s rr", "-a -t ... -r ... -m -w 1") into
 * operations, and a list of -A/-a lines into a desired table: the common language of the diff's
 * unit tests, the integration driver and `kipvs plan --diff`.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "cleanup.h"

/* "10.0.0.1:80" or "[fd00::1]:80". */
static int ipvs_rules_addr_port(const char *text, struct ipvs_key *key, uint8_t protocol)
{
	char buf[NET_ADDR_STRLEN];
	const char *colon;
	struct net_addr addr;
	unsigned long port;
	char *end;
	size_t len;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		len = (size_t)(close - text - 1);
		text++;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		len = (size_t)(colon - text);
	}
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (net_addr_parse(buf, &addr) < 0)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port > 0xffff)
		return -EINVAL;
	ipvs_key_init(key, &addr, (uint16_t)port, protocol);
	return 0;
}

static int ipvs_rules_uint(const char *text, uint32_t *ret)
{
	char *end;
	unsigned long v;

	if (!text)
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int ipvs_rules_parse_line(const char *line, struct ipvs_op *ret_op)
{
	_cleanup_free_ char *copy = strdup(line);
	char *tok[32], *save = NULL;
	struct ipvs_op op = {0};
	const char *svc_text = NULL, *rs_text = NULL, *sched_flags_text = NULL;
	uint32_t sched_flags = 0;
	bool have_kind = false;
	size_t n = 0;
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == ARRAY_SIZE(tok))
			return -EINVAL;
		tok[n++] = t;
	}
	if (n == 0 || tok[0][0] == '#')
		return 1;
	strcpy(op.svc.sched, "wlc");
	op.dest.fwd = IP_VS_CONN_F_MASQ;
	op.dest.weight = 1;
	for (size_t i = 0; i < n; i++) {
		const char *t = tok[i], *arg = i + 1 < n ? tok[i + 1] : NULL;
		static const struct {
			const char *opt;
			enum ipvs_op_kind kind;
		} kinds[] = {
		    {"-A", IPVS_OP_SERVICE_ADD}, {"-E", IPVS_OP_SERVICE_SET},
		    {"-D", IPVS_OP_SERVICE_DEL}, {"-a", IPVS_OP_DEST_ADD},
		    {"-e", IPVS_OP_DEST_SET},	 {"-d", IPVS_OP_DEST_DEL},
		};
		bool matched = false;

		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
			if (strcmp(t, kinds[k].opt) == 0) {
				if (have_kind)
					return -EINVAL;
				op.kind = kinds[k].kind;
				have_kind = matched = true;
			}
		if (matched)
			continue;
		if (!arg && strcmp(t, "-p") != 0 && strcmp(t, "-m") != 0 && strcmp(t, "-g") != 0 &&
		    strcmp(t, "-i") != 0)
			return -EINVAL;
		if (strcmp(t, "-t") == 0 || strcmp(t, "-u") == 0 ||
		    strcmp(t, "--sctp-service") == 0) {
			op.svc.key.protocol = t[1] == 't'   ? IPPROTO_TCP
					      : t[1] == 'u' ? IPPROTO_UDP
							    : IPPROTO_SCTP;
			svc_text = tok[++i];
		} else if (strcmp(t, "-r") == 0) {
			rs_text = tok[++i];
		} else if (strcmp(t, "-s") == 0) {
			snprintf(op.svc.sched, sizeof(op.svc.sched), "%s", tok[++i]);
		} else if (strcmp(t, "-p") == 0) {
			op.svc.flags |= IP_VS_SVC_F_PERSISTENT;
			op.svc.timeout = 300;
			if (arg && arg[0] != '-') {
				if (ipvs_rules_uint(arg, &op.svc.timeout) < 0)
					return -EINVAL;
				i++;
			}
		} else if (strcmp(t, "-b") == 0) {
			sched_flags_text =
			    tok[++i]; /* its names depend on -s, maybe not read yet */
		} else if (strcmp(t, "-M") == 0) {
			if (ipvs_rules_uint(tok[++i], &op.svc.netmask) < 0)
				return -EINVAL;
		} else if (strcmp(t, "-m") == 0) {
			op.dest.fwd = IP_VS_CONN_F_MASQ;
		} else if (strcmp(t, "-g") == 0) {
			op.dest.fwd = IP_VS_CONN_F_DROUTE;
		} else if (strcmp(t, "-i") == 0) {
			op.dest.fwd = IP_VS_CONN_F_TUNNEL;
		} else if (strcmp(t, "-w") == 0) {
			if (ipvs_rules_uint(tok[++i], &op.dest.weight) < 0)
				return -EINVAL;
		} else if (strcmp(t, "-x") == 0) {
			if (ipvs_rules_uint(tok[++i], &op.dest.u_thresh) < 0)
				return -EINVAL;
		} else if (strcmp(t, "-y") == 0) {
			if (ipvs_rules_uint(tok[++i], &op.dest.l_thresh) < 0)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	if (!have_kind || !svc_text)
		return -EINVAL;
	if (sched_flags_text &&
	    plan_sched_flags_parse(op.svc.sched, sched_flags_text, &sched_flags) < 0)
		return -EINVAL;
	op.svc.flags |= sched_flags;
	r = ipvs_rules_addr_port(svc_text, &op.svc.key, op.svc.key.protocol);
	if (r < 0)
		return r;
	if (!op.svc.netmask)
		op.svc.netmask = op.svc.key.af == AF_INET6 ? 128 : 0xffffffffu;
	if (op.kind >= IPVS_OP_DEST_ADD) {
		if (!rs_text)
			return -EINVAL;
		r = ipvs_rules_addr_port(rs_text, &op.dest.key, 0);
		if (r < 0)
			return r;
	} else if (rs_text) {
		return -EINVAL;
	}
	*ret_op = op;
	return 0;
}

int ipvs_rules_parse(const char *text, struct ipvs_oplist *ops)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct ipvs_op op;

		r = ipvs_rules_parse_line(line, &op);
		if (r < 0)
			return r;
		if (r == 1)
			continue;
		r = ipvs_oplist_append(ops, &op);
		if (r < 0)
			return r;
	}
	return 0;
}

static enum kube_proto ipvs_rules_kube_proto(uint8_t protocol)
{
	return protocol == IPPROTO_UDP	  ? KUBE_PROTO_UDP
	       : protocol == IPPROTO_SCTP ? KUBE_PROTO_SCTP
					  : KUBE_PROTO_TCP;
}

static int ipvs_rules_dest_order(const void *a, const void *b)
{
	const struct plan_dest *x = a, *y = b;
	int r = net_addr_compare(&x->addr, &y->addr);

	if (r)
		return r;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int ipvs_rules_vs_order(const void *a, const void *b)
{
	return plan_vs_key_compare(a, b);
}

struct ipvs_rules_index {
	struct ipvs_key key;
	size_t i;
	UT_hash_handle hh;
};

static void ipvs_rules_index_free(struct ipvs_rules_index **index)
{
	struct ipvs_rules_index *e, *tmp;

	HASH_ITER(hh, *index, e, tmp)
	{
		HASH_DEL(*index, e);
		free(e);
	}
}

int ipvs_rules_to_plan(const struct ipvs_oplist *ops, struct plan_table *ret_table)
{
	_cleanup_(ipvs_rules_index_free) struct ipvs_rules_index *index = NULL;
	struct plan_table t = {0};
	int r = -EINVAL;

	t.vs = calloc(ops->n ? ops->n : 1, sizeof(*t.vs));
	if (!t.vs)
		return -ENOMEM;
	for (size_t i = 0; i < ops->n; i++) {
		const struct ipvs_op *op = &ops->ops[i];
		struct plan_vs *vs = NULL;
		struct ipvs_rules_index *e = NULL;
		char name[IPVS_KEY_STRLEN];

		HASH_FIND(hh, index, &op->svc.key, sizeof(op->svc.key), e);
		if (e)
			vs = &t.vs[e->i];
		if (op->kind == IPVS_OP_SERVICE_ADD) {
			if (vs)
				goto out_clear;
			e = calloc(1, sizeof(*e));
			if (!e) {
				r = -ENOMEM;
				goto out_clear;
			}
			e->key = op->svc.key;
			e->i = t.n_vs;
			HASH_ADD(hh, index, key, sizeof(e->key), e);
			vs = &t.vs[t.n_vs++];
			ipvs_key_to_net_addr(&op->svc.key, &vs->addr);
			vs->port = op->svc.key.port;
			vs->proto = ipvs_rules_kube_proto(op->svc.key.protocol);
			snprintf(vs->scheduler, sizeof(vs->scheduler), "%s", op->svc.sched);
			vs->sched_flags = op->svc.flags & PLAN_SCHED_F_MASK;
			vs->persistent = op->svc.flags & IP_VS_SVC_F_PERSISTENT;
			vs->timeout = vs->persistent ? op->svc.timeout : 0;
			vs->svc_namespace = strdup("rules");
			vs->svc_name = strdup(ipvs_key_format(&op->svc.key, name));
			if (!vs->svc_namespace || !vs->svc_name) {
				r = -ENOMEM;
				goto out_clear;
			}
		} else if (op->kind == IPVS_OP_DEST_ADD) {
			struct plan_dest *d;

			if (!vs)
				goto out_clear;
			d = reallocarray(vs->dests, vs->n_dests + 1, sizeof(*d));
			if (!d) {
				r = -ENOMEM;
				goto out_clear;
			}
			vs->dests = d;
			d = &vs->dests[vs->n_dests++];
			memset(d, 0, sizeof(*d));
			ipvs_key_to_net_addr(&op->dest.key, &d->addr);
			d->port = op->dest.key.port;
			d->weight = op->dest.weight;
		} else {
			goto out_clear;
		}
	}
	for (size_t j = 0; j < t.n_vs; j++)
		if (t.vs[j].n_dests)
			qsort(t.vs[j].dests, t.vs[j].n_dests, sizeof(*t.vs[j].dests),
			      ipvs_rules_dest_order);
	qsort(t.vs, t.n_vs, sizeof(*t.vs), ipvs_rules_vs_order);
	*ret_table = t;
	return 0;
out_clear:
	plan_table_clear(&t);
	return r;
}
