/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UDP conntrack cleanup over ctnetlink (libnl-nf-3), in process: UDP has no connection end, so
 * a client keeps sending to a dead real server (or to nowhere, when the Service had none) for
 * as long as its conntrack entry lives. kipvs deletes those entries instead of forking conntrack.
 *
 * One sync's stale virtual servers come as one set (lib/plan_ct.h). The table is dumped once
 * per IP family the set has, the kernel asked for its UDP entries only; each dumped message is
 * parsed on its own and asked about with plan_ct_entry_is_stale(), so nothing of the table is kept
 * but the entries to delete, at most IPVS_CONNTRACK_BATCH of them: a full batch is deleted on a
 * second socket (never on the dumping one, mid-dump) in one send before the dump goes on.
 */
#include "fw.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "net_addr.h"
#include "plan_ct.h"

/* Deletes per send: their error answers (one small skb each) must fit the socket buffer. */
#define IPVS_CONNTRACK_BATCH 64
/* Room for one delete request (an IPv6 tuple, zone and id take about 120 bytes). */
#define IPVS_CONNTRACK_DEL_MAX 256
/* The dump's receive buffer: the kernel caps a dump skb at just under 32 KiB. */
#define IPVS_CONNTRACK_RECV_BUF 32768
/*
 * CTA_FILTER_ORIG_FLAGS bit for the original tuple's protocol number: the kernel's
 * CTA_FILTER_F_CTA_PROTO_NUM (net/netfilter/nf_internals.h, not in the uapi headers).
 */
#define IPVS_CONNTRACK_FILTER_PROTO_NUM (1u << 3)

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

/* One direction of an entry: addresses (family 0 when absent), protocol, host-order ports. */
struct ipvs_conntrack_tuple {
	struct net_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
};

/* What a delete names: the original tuple, and the zone and id the dump gave. */
struct ipvs_conntrack_del {
	int family;
	struct ipvs_conntrack_tuple orig;
	bool has_zone, has_id;
	uint16_t zone;
	uint32_t id; /* network order, as dumped */
};

struct ipvs_conntrack_walk {
	const struct plan_ct *set;
	struct nl_sock *del_sk; /* opened at the first delete */
	struct ipvs_conntrack_del pending[IPVS_CONNTRACK_BATCH];
	size_t n_pending;
	struct ipvs_conntrack_result res;
	int err; /* the first failure */
};

static const struct nla_policy ipvs_conntrack_policy[CTA_MAX + 1] = {
    [CTA_TUPLE_ORIG] = {.type = NLA_NESTED},
    [CTA_TUPLE_REPLY] = {.type = NLA_NESTED},
    [CTA_ID] = {.type = NLA_U32},
    [CTA_ZONE] = {.type = NLA_U16},
};
static const struct nla_policy ipvs_conntrack_tuple_policy[CTA_TUPLE_MAX + 1] = {
    [CTA_TUPLE_IP] = {.type = NLA_NESTED},
    [CTA_TUPLE_PROTO] = {.type = NLA_NESTED},
};
static const struct nla_policy ipvs_conntrack_ip_policy[CTA_IP_MAX + 1] = {
    [CTA_IP_V4_SRC] = {.minlen = 4},
    [CTA_IP_V4_DST] = {.minlen = 4},
    [CTA_IP_V6_SRC] = {.minlen = 16},
    [CTA_IP_V6_DST] = {.minlen = 16},
};
static const struct nla_policy ipvs_conntrack_proto_policy[CTA_PROTO_MAX + 1] = {
    [CTA_PROTO_NUM] = {.type = NLA_U8},
    [CTA_PROTO_SRC_PORT] = {.type = NLA_U16},
    [CTA_PROTO_DST_PORT] = {.type = NLA_U16},
};

/* An address attribute into *ret (left unset when absent). */
static void ipvs_conntrack_addr_get(struct nlattr *attr, int family, struct net_addr *ret)
{
	if (!attr)
		return;
	*ret = (struct net_addr){.family = family};
	memcpy(ret->bytes, nla_data(attr), family == AF_INET ? 4 : 16);
}

/* Parses a CTA_TUPLE_* nest. 0, or -EBADMSG when it is malformed. */
static int ipvs_conntrack_tuple_parse(struct nlattr *attr, struct ipvs_conntrack_tuple *ret)
{
	struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];

	*ret = (struct ipvs_conntrack_tuple){0};
	if (!attr)
		return 0;
	if (nla_parse_nested(tb, CTA_TUPLE_MAX, attr, ipvs_conntrack_tuple_policy) < 0)
		return -EBADMSG;
	if (tb[CTA_TUPLE_IP]) {
		struct nlattr *a = tb[CTA_TUPLE_IP];

		if (nla_parse_nested(ip, CTA_IP_MAX, a, ipvs_conntrack_ip_policy) < 0)
			return -EBADMSG;
		ipvs_conntrack_addr_get(ip[CTA_IP_V4_SRC], AF_INET, &ret->src);
		ipvs_conntrack_addr_get(ip[CTA_IP_V4_DST], AF_INET, &ret->dst);
		ipvs_conntrack_addr_get(ip[CTA_IP_V6_SRC], AF_INET6, &ret->src);
		ipvs_conntrack_addr_get(ip[CTA_IP_V6_DST], AF_INET6, &ret->dst);
	}
	if (tb[CTA_TUPLE_PROTO]) {
		if (nla_parse_nested(pr, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO],
				     ipvs_conntrack_proto_policy) < 0)
			return -EBADMSG;
		if (pr[CTA_PROTO_NUM])
			ret->proto = nla_get_u8(pr[CTA_PROTO_NUM]);
		if (pr[CTA_PROTO_SRC_PORT])
			ret->sport = ntohs(nla_get_u16(pr[CTA_PROTO_SRC_PORT]));
		if (pr[CTA_PROTO_DST_PORT])
			ret->dport = ntohs(nla_get_u16(pr[CTA_PROTO_DST_PORT]));
	}
	return 0;
}

/* Appends the IPCTNL_MSG_CT_DELETE request for d at buf (seq); its length, or -errno. */
static int ipvs_conntrack_del_put(const struct ipvs_conntrack_del *d, uint32_t seq, uint8_t *buf)
{
	const struct ipvs_conntrack_tuple *t = &d->orig;
	bool v4 = d->family == AF_INET;
	int alen = v4 ? 4 : 16;
	struct nlattr *tuple, *nest;
	struct nl_msg *msg;
	int len = -ENOMEM;

	/* No NLM_F_ACK: only a failed delete answers (see ipvs_conntrack_del_flush()). */
	msg = nfnlmsg_alloc_simple(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST,
				   (uint8_t)d->family, 0);
	if (!msg)
		return -ENOMEM;
	if (!(tuple = nla_nest_start(msg, CTA_TUPLE_ORIG)) ||
	    !(nest = nla_nest_start(msg, CTA_TUPLE_IP)) ||
	    nla_put(msg, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, t->src.bytes) < 0 ||
	    nla_put(msg, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, t->dst.bytes) < 0 ||
	    nla_nest_end(msg, nest) < 0 || !(nest = nla_nest_start(msg, CTA_TUPLE_PROTO)) ||
	    nla_put_u8(msg, CTA_PROTO_NUM, t->proto) < 0 ||
	    nla_put_u16(msg, CTA_PROTO_SRC_PORT, htons(t->sport)) < 0 ||
	    nla_put_u16(msg, CTA_PROTO_DST_PORT, htons(t->dport)) < 0 ||
	    nla_nest_end(msg, nest) < 0 || nla_nest_end(msg, tuple) < 0 ||
	    (d->has_zone && nla_put_u16(msg, CTA_ZONE, htons(d->zone)) < 0) ||
	    /* The id makes the delete miss a newer entry that reuses the tuple. */
	    (d->has_id && nla_put_u32(msg, CTA_ID, d->id) < 0))
		goto out;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	nlh->nlmsg_seq = seq;
	len = NLMSG_ALIGN(nlh->nlmsg_len);
	if (len > IPVS_CONNTRACK_DEL_MAX) {
		len = -EMSGSIZE;
		goto out;
	}
	memcpy(buf, nlh, nlh->nlmsg_len);
	memset(buf + nlh->nlmsg_len, 0, (size_t)len - nlh->nlmsg_len);
out:
	nlmsg_free(msg);
	return len;
}

/* The failed deletes of one batch. */
struct ipvs_conntrack_fails {
	size_t n;
	int err; /* the first kernel error but ENOENT (the entry went meanwhile: done) */
};

static int ipvs_conntrack_on_del_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct ipvs_conntrack_fails *f = arg;

	f->n++;
	if (e->error != -ENOENT && !f->err)
		f->err = e->error < 0 ? e->error : -EIO;
	return NL_SKIP;
}

static int ipvs_conntrack_socket(struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_NETFILTER);
	if (r < 0) {
		nl_socket_free(sk);
		return ipvs_conntrack_errno(r);
	}
	*ret = sk;
	return 0;
}

/*
 * Deletes the pending entries in one send on the second socket. The kernel runs a netlink
 * request to ctnetlink in the sender's sendmsg() (netlink_unicast_kernel()), so when the send
 * returns every delete is done and every failure is queued: one recv per failure, not one ack
 * per entry, which costs more than the delete itself under emulation.
 */
static void ipvs_conntrack_del_flush(struct ipvs_conntrack_walk *w)
{
	struct ipvs_conntrack_fails fails = {0};
	uint8_t *buf = NULL;
	size_t off = 0, n = w->n_pending;
	int r = 0;

	w->n_pending = 0;
	if (n == 0)
		return;
	if (!w->del_sk) {
		if ((r = ipvs_conntrack_socket(&w->del_sk)) < 0)
			goto out;
		/* Failures come back with our own seq numbers; the reads must not wait. */
		nl_socket_disable_seq_check(w->del_sk);
		if ((r = nl_socket_set_nonblocking(w->del_sk)) < 0) {
			r = ipvs_conntrack_errno(r);
			goto out;
		}
	}
	nl_socket_modify_err_cb(w->del_sk, NL_CB_CUSTOM, ipvs_conntrack_on_del_error, &fails);
	buf = malloc(n * IPVS_CONNTRACK_DEL_MAX);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int len = ipvs_conntrack_del_put(&w->pending[i], (uint32_t)(i + 1), buf + off);

		if (len < 0) {
			r = len;
			goto out;
		}
		off += (size_t)len;
	}
	r = nl_sendto(w->del_sk, buf, off);
	if (r < 0) {
		r = ipvs_conntrack_errno(r);
		goto out;
	}
	r = 0;
	for (;;) {
		int q = nl_recvmsgs_default(w->del_sk);

		if (q == -NLE_AGAIN)
			break; /* nothing more queued */
		if (q < 0) {
			/* ENOBUFS: failures were lost; how many were deleted is unknown. */
			r = ipvs_conntrack_errno(q);
			break;
		}
	}
	if (!r)
		w->res.deleted += (unsigned)(n - fails.n);
out:
	free(buf);
	if (!r)
		r = fails.err;
	if (r < 0 && !w->err)
		w->err = r;
}

/* NL_CB_VALID of the dump: one conntrack entry. */
static int ipvs_conntrack_on_entry(struct nl_msg *msg, void *arg)
{
	struct ipvs_conntrack_walk *w = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[CTA_MAX + 1];
	struct ipvs_conntrack_tuple orig, reply;
	struct plan_ct_entry e;
	struct ipvs_conntrack_del *d;

	if (nfnlmsg_subsys(nlh) != NFNL_SUBSYS_CTNETLINK ||
	    nfnlmsg_subtype(nlh) != IPCTNL_MSG_CT_NEW ||
	    nlmsg_parse(nlh, sizeof(struct nfgenmsg), tb, CTA_MAX, ipvs_conntrack_policy) < 0 ||
	    ipvs_conntrack_tuple_parse(tb[CTA_TUPLE_ORIG], &orig) < 0 ||
	    ipvs_conntrack_tuple_parse(tb[CTA_TUPLE_REPLY], &reply) < 0)
		return NL_SKIP; /* not an entry kipvs can name: left alone */
	w->res.scanned++;
	e = (struct plan_ct_entry){.family = nfnlmsg_family(nlh),
				   .proto = orig.proto,
				   .orig_dst = orig.dst,
				   .orig_dst_port = orig.dport,
				   .reply_src = reply.src,
				   .reply_src_port = reply.sport};
	if (!plan_ct_entry_is_stale(w->set, &e))
		return NL_OK;
	w->res.matched++;
	d = &w->pending[w->n_pending++];
	*d = (struct ipvs_conntrack_del){.family = e.family, .orig = orig};
	if (tb[CTA_ZONE]) {
		d->has_zone = true;
		d->zone = ntohs(nla_get_u16(tb[CTA_ZONE]));
	}
	if (tb[CTA_ID]) {
		d->has_id = true;
		d->id = nla_get_u32(tb[CTA_ID]);
	}
	if (w->n_pending == IPVS_CONNTRACK_BATCH)
		ipvs_conntrack_del_flush(w);
	return NL_OK;
}

static int ipvs_conntrack_on_dump_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	int *kerr = arg;

	*kerr = e->error < 0 ? e->error : -EIO;
	return NL_STOP;
}

/*
 * The dump request for family. With udp_only, a kernel-side filter on the protocol (Linux
 * 5.8 and later): TCP entries, most of a busy table, are then neither formatted nor sent.
 * Kernels without CTA_FILTER ignore both attributes and send every entry; the per-entry check
 * skips what is not UDP either way. NULL on ENOMEM.
 */
static struct nl_msg *ipvs_conntrack_dump_request(int family, bool udp_only)
{
	struct nl_msg *msg = nfnlmsg_alloc_simple(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET,
						  NLM_F_DUMP, (uint8_t)family, 0);
	struct nlattr *tuple, *proto, *filter;

	if (!msg || !udp_only)
		return msg;
	if (!(tuple = nla_nest_start(msg, CTA_TUPLE_ORIG)) ||
	    !(proto = nla_nest_start(msg, CTA_TUPLE_PROTO)) ||
	    nla_put_u8(msg, CTA_PROTO_NUM, IPPROTO_UDP) < 0 || nla_nest_end(msg, proto) < 0 ||
	    nla_nest_end(msg, tuple) < 0 || !(filter = nla_nest_start(msg, CTA_FILTER)) ||
	    nla_put_u32(msg, CTA_FILTER_ORIG_FLAGS, IPVS_CONNTRACK_FILTER_PROTO_NUM) < 0 ||
	    nla_nest_end(msg, filter) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* One dump of family's entries, deleting the stale ones. 0 or -errno. */
static int ipvs_conntrack_dump(struct ipvs_conntrack_walk *w, int family, bool udp_only)
{
	struct nl_sock *sk = NULL;
	struct nl_msg *msg;
	int kerr = 0, r;

	if ((r = ipvs_conntrack_socket(&sk)) < 0)
		return r;
	/* A fixed buffer the size of the kernel's largest dump skb: no MSG_PEEK round trip. */
	(void)nl_socket_set_msg_buf_size(sk, IPVS_CONNTRACK_RECV_BUF);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, ipvs_conntrack_on_entry, w);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, ipvs_conntrack_on_dump_error, &kerr);
	msg = ipvs_conntrack_dump_request(family, udp_only);
	if (!msg) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	ipvs_conntrack_del_flush(w); /* the last, partial batch */
	if (r < 0)
		return kerr ? kerr : ipvs_conntrack_errno(r);
	return 0;
}

int ipvs_conntrack_udp_flush(const struct plan_ct *set, struct ipvs_conntrack_result *ret_result)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct ipvs_conntrack_walk *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->set = set;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (!plan_ct_has_family(set, families[i]))
			continue;
		unsigned scanned = w->res.scanned;

		r = ipvs_conntrack_dump(w, families[i], true);
		/* A kernel that has CTA_FILTER but refuses this one: dump everything instead. */
		if ((r == -EINVAL || r == -EOPNOTSUPP) && w->res.scanned == scanned)
			r = ipvs_conntrack_dump(w, families[i], false);
		if (r < 0 && !w->err)
			w->err = r;
	}
	if (w->del_sk)
		nl_socket_free(w->del_sk);
	if (ret_result)
		*ret_result = w->res;
	r = w->err ? w->err : (int)w->res.deleted;
	free(w);
	return r;
}
