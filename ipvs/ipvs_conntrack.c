/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UDP conntrack cleanup over ctnetlink (libnl-nf-3), in process: UDP has no connection end, so
 * a client keeps sending to a dead real server (or to nowhere, when the Service had none) for
 * as long as its conntrack entry lives. kipvs deletes those entries instead of forking conntrack.
 */
#include "fw.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "net_addr.h"
#include "plan.h"

static int ipvs_conntrack_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
	case NLE_NOACCESS:
		return -EPERM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AF_NOSUPPORT:
	case NLE_PROTO_MISMATCH:
		return -EAFNOSUPPORT;
	default:
		return -EIO;
	}
}

/* True when a (libnl) address equals ours. */
static bool ipvs_conntrack_addr_is(struct nl_addr *a, const struct net_addr *b)
{
	return a && nl_addr_get_family(a) == b->family &&
	       (int)nl_addr_get_len(a) == net_addr_len(b) &&
	       memcmp(nl_addr_get_binary_addr(a), b->bytes, (size_t)net_addr_len(b)) == 0;
}

struct ipvs_conntrack_walk {
	struct nl_sock *sk;
	const struct net_addr *vip;
	uint16_t port;
	const struct plan_dest *keep;
	size_t n_keep;
	unsigned deleted;
	int err;
};

static void ipvs_conntrack_on_entry(struct nl_object *obj, void *arg)
{
	struct ipvs_conntrack_walk *w = arg;
	struct nfnl_ct *ct = (struct nfnl_ct *)obj;
	struct nl_addr *reply_src;
	uint16_t reply_port;
	int r;

	if (nfnl_ct_get_family(ct) != w->vip->family || nfnl_ct_get_proto(ct) != IPPROTO_UDP)
		return;
	if (!ipvs_conntrack_addr_is(nfnl_ct_get_dst(ct, 0), w->vip) ||
	    nfnl_ct_get_dst_port(ct, 0) != w->port)
		return;
	reply_src = nfnl_ct_get_src(ct, 1);
	reply_port = nfnl_ct_get_src_port(ct, 1);
	for (size_t i = 0; i < w->n_keep; i++)
		if (ipvs_conntrack_addr_is(reply_src, &w->keep[i].addr) &&
		    reply_port == w->keep[i].port)
			return;
	r = nfnl_ct_del(w->sk, ct, 0);
	if (r < 0 && ipvs_conntrack_errno(r) != -ENOENT) {
		if (!w->err)
			w->err = ipvs_conntrack_errno(r);
		return;
	}
	if (r >= 0)
		w->deleted++;
}

int ipvs_conntrack_udp_flush(const struct net_addr *vip, uint16_t port,
			     const struct plan_dest *keep, size_t n_keep, unsigned *ret_deleted)
{
	struct ipvs_conntrack_walk w = {.vip = vip, .port = port, .keep = keep, .n_keep = n_keep};
	struct nl_cache *cache = NULL;
	int r;

	w.sk = nl_socket_alloc();
	if (!w.sk)
		return -ENOMEM;
	r = nl_connect(w.sk, NETLINK_NETFILTER);
	if (r == 0)
		r = nfnl_ct_alloc_cache(w.sk, &cache);
	if (r < 0) {
		nl_socket_free(w.sk);
		return ipvs_conntrack_errno(r);
	}
	nl_cache_foreach(cache, ipvs_conntrack_on_entry, &w);
	nl_cache_free(cache);
	nl_socket_free(w.sk);
	if (ret_deleted)
		*ret_deleted = w.deleted;
	return w.err ? w.err : (int)w.deleted;
}
