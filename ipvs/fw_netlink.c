/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binary side of kipvs's nftables table (ipvs/fw_internal.h), over libmnl and libnftnl:
 * the table's comment without listing the table, set element adds and deletes as one netlink
 * batch, each set's keys read back, and a digest of the table's structure. None of it formats
 * or parses text, so its cost follows the elements that change, not the table's size.
 */
#include "fw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "cleanup.h"

/* A batch message holds at most this many elements (each at most 56 bytes): well under 64 KiB. */
#define FW_NETLINK_ELEMS_PER_MSG 1000
#define FW_NETLINK_MSG_MAX (FW_NETLINK_ELEMS_PER_MSG * 64 + 1024)
/* A kernel that never answers must not hang the loop for ever. */
#define FW_NETLINK_TIMEOUT_S 60
/* Room for the largest reply a dump sends at once. */
#define FW_NETLINK_RECV (256 * 1024)

struct fw_netlink {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

int fw_netlink_open(struct fw_netlink **ret_nl)
{
	struct timeval tv = {.tv_sec = FW_NETLINK_TIMEOUT_S};
	struct fw_netlink *nl = calloc(1, sizeof(*nl));
	int one = 1, r;

	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl->sock) {
		r = -errno;
		free(nl);
		return r;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		fw_netlink_free(nl);
		return r;
	}
	/* Acks without the request copied in; the kernel's error text when it has one. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*ret_nl = nl;
	return 0;
}

struct fw_netlink *fw_netlink_free(struct fw_netlink *nl)
{
	if (!nl)
		return NULL;
	if (nl->sock)
		(void)mnl_socket_close(nl->sock);
	free(nl);
	return NULL;
}

/*
 * Sends one request (nlh) and runs cb on every reply until the ack or the dump's end.
 * 0, or -errno (the kernel's, or the socket's; -ETIMEDOUT when no answer came).
 */
static int fw_netlink_request(struct fw_netlink *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	_cleanup_free_ char *buf = malloc(FW_NETLINK_RECV);
	uint32_t seq = nlh->nlmsg_seq;
	int r;

	if (!buf)
		return -ENOMEM;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, FW_NETLINK_RECV);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		r = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0)
			return errno ? -errno : -EIO;
	} while (r > MNL_CB_STOP);
	return 0;
}

/* ---- The table's comment ---- */

struct fw_netlink_comment {
	char *buf;
	size_t size;
	int r;
};

static int fw_netlink_on_udata(const struct nftnl_udata *attr, void *data)
{
	struct fw_netlink_comment *c = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) != NFTNL_UDATA_TABLE_COMMENT || len == 0)
		return 0;
	/* The comment is stored with its NUL; never trust that it is there. */
	snprintf(c->buf, c->size, "%.*s", (int)strnlen(v, len), v);
	return 0;
}

static int fw_netlink_on_table(const struct nlmsghdr *nlh, void *data)
{
	struct fw_netlink_comment *c = data;
	struct nftnl_table *t = nftnl_table_alloc();
	const void *ud;
	uint32_t len = 0;

	if (!t) {
		c->r = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_table_nlmsg_parse(nlh, t) < 0) {
		nftnl_table_free(t);
		c->r = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA)) {
		ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
		if (ud)
			(void)nftnl_udata_parse(ud, len, fw_netlink_on_udata, c);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

int fw_netlink_table_comment(struct fw_netlink *nl, const char *table, char *buf, size_t size)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct fw_netlink_comment c = {.buf = buf, .size = size};
	struct nlmsghdr *nlh;
	int r;

	if (size == 0)
		return -EINVAL;
	buf[0] = '\0';
	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, ++nl->seq);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	errno = 0;
	r = fw_netlink_request(nl, nlh, fw_netlink_on_table, &c);
	if (c.r < 0)
		return c.r;
	return r;
}

/* ---- Element batches ---- */

struct fw_netlink_buf {
	char *data;
	size_t len, cap;
};

/* Room for one more message of up to FW_NETLINK_MSG_MAX bytes at data + len. */
static int fw_netlink_buf_reserve(struct fw_netlink_buf *b)
{
	if (b->cap - b->len >= FW_NETLINK_MSG_MAX)
		return 0;
	size_t cap = b->cap ? b->cap * 2 : 4 * FW_NETLINK_MSG_MAX;
	char *d = realloc(b->data, cap);

	if (!d)
		return -ENOMEM;
	memset(d + b->cap, 0, cap - b->cap);
	b->data = d;
	b->cap = cap;
	return 0;
}

/* One NEWSETELEM or DELSETELEM message; no keys (n == 0) with del flushes the set. */
static struct nlmsghdr *fw_netlink_put_elems(struct fw_netlink_buf *b, const char *table,
					     const char *set, bool del, const uint8_t *keys,
					     size_t n, size_t key_len, uint32_t seq)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
	    b->data + b->len, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, NFPROTO_INET,
	    (uint16_t)((del ? 0 : NLM_F_CREATE) | NLM_F_ACK), seq);

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	if (n > 0) {
		struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);

		for (size_t i = 0; i < n; i++) {
			struct nlattr *el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
			struct nlattr *key = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);

			mnl_attr_put(nlh, NFTA_DATA_VALUE, key_len, keys + i * key_len);
			mnl_attr_nest_end(nlh, key);
			mnl_attr_nest_end(nlh, el);
		}
		mnl_attr_nest_end(nlh, list);
	}
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return nlh;
}

/* The batch's socket buffer must hold the whole batch: the kernel reads it in one message. */
static void fw_netlink_sndbuf(struct fw_netlink *nl, size_t len)
{
	int fd = mnl_socket_get_fd(nl->sock), want = (int)(len + 65536), have = 0;
	socklen_t sl = sizeof(have);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &sl) == 0 && (size_t)have >= 2 * len)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

/* The kernel's error text after an NLMSG_ERROR's header, when it sent one. */
static const char *fw_netlink_ext_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

/*
 * Reads the acks of `expect` messages, seqs first .. first + expect - 1 (op_of[i]: the op of
 * message i). Returns 0, or the first error with its set named in err.
 */
static int fw_netlink_acks(struct fw_netlink *nl, uint32_t first, size_t expect,
			   const size_t *op_of, const struct fw_netlink_set_op *ops, char *err,
			   size_t err_size)
{
	_cleanup_free_ char *buf = malloc(FW_NETLINK_RECV);
	size_t got = 0;
	int first_err = 0;

	if (!buf)
		return -ENOMEM;
	while (got < expect) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, FW_NETLINK_RECV);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			int r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;

			if (err && err_size && !first_err)
				snprintf(err, err_size, "netlink: %s", strerror(-r));
			return first_err ? first_err : r;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e;
			uint32_t i = nlh->nlmsg_seq - first;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (i >= expect) {
				/* The batch itself refused (begin or end, e.g. EPERM): no acks
				 * follow. */
				if (e->error == 0 || first_err)
					continue;
				first_err = e->error < 0 ? e->error : -e->error;
				if (err && err_size)
					snprintf(err, err_size, "batch: %s", strerror(-first_err));
				return first_err;
			}
			got++;
			if (e->error == 0 || first_err)
				continue;
			first_err = e->error < 0 ? e->error : -e->error;
			if (err && err_size) {
				const char *ext = fw_netlink_ext_msg(nlh);

				snprintf(err, err_size, "set %s: %s%s%s", ops[op_of[i]].set,
					 strerror(-first_err), ext ? ": " : "", ext ? ext : "");
			}
		}
	}
	return first_err;
}

int fw_netlink_batch(struct fw_netlink *nl, const char *table, const struct fw_netlink_set_op *ops,
		     size_t n_ops, char *err, size_t err_size)
{
	struct fw_netlink_buf b = {0};
	_cleanup_free_ size_t *op_of = NULL;
	size_t n_msgs = 0, cap_msgs = 0;
	uint32_t first;
	int r;

	for (size_t o = 0; o < n_ops; o++)
		cap_msgs += (ops[o].flush ? 1 : 0) +
			    (ops[o].n + FW_NETLINK_ELEMS_PER_MSG - 1) / FW_NETLINK_ELEMS_PER_MSG;
	if (cap_msgs == 0)
		return 0; /* nothing changed: no transaction */
	op_of = calloc(cap_msgs, sizeof(*op_of));
	if (!op_of || (r = fw_netlink_buf_reserve(&b)) < 0) {
		free(b.data);
		return -ENOMEM;
	}
	nftnl_batch_begin(b.data, ++nl->seq);
	b.len += NLMSG_ALIGN(((struct nlmsghdr *)b.data)->nlmsg_len);
	first = nl->seq + 1;
	for (size_t o = 0; o < n_ops; o++) {
		const struct fw_netlink_set_op *op = &ops[o];

		if (op->flush) {
			if ((r = fw_netlink_buf_reserve(&b)) < 0)
				goto out;
			(void)fw_netlink_put_elems(&b, table, op->set, true, NULL, 0, 0, ++nl->seq);
			op_of[n_msgs++] = o;
		}
		for (size_t i = 0; i < op->n; i += FW_NETLINK_ELEMS_PER_MSG) {
			size_t k = op->n - i < FW_NETLINK_ELEMS_PER_MSG ? op->n - i
									: FW_NETLINK_ELEMS_PER_MSG;

			if ((r = fw_netlink_buf_reserve(&b)) < 0)
				goto out;
			(void)fw_netlink_put_elems(&b, table, op->set, op->del,
						   op->keys + i * op->key_len, k, op->key_len,
						   ++nl->seq);
			op_of[n_msgs++] = o;
		}
	}
	if ((r = fw_netlink_buf_reserve(&b)) < 0)
		goto out;
	nftnl_batch_end(b.data + b.len, ++nl->seq);
	b.len += NLMSG_ALIGN(((struct nlmsghdr *)(b.data + b.len))->nlmsg_len);
	fw_netlink_sndbuf(nl, b.len);
	if (mnl_socket_sendto(nl->sock, b.data, b.len) < 0) {
		r = -errno;
		if (err && err_size)
			snprintf(err, err_size, "netlink send of %zu bytes: %s", b.len,
				 strerror(-r));
		goto out;
	}
	r = fw_netlink_acks(nl, first, n_msgs, op_of, ops, err, err_size);
out:
	free(b.data);
	return r;
}

/* ---- Reading a set back ---- */

struct fw_netlink_keys {
	size_t key_len;
	uint8_t **keys;
	size_t *n, cap, odd;
	int r;
};

static int fw_netlink_on_elems(const struct nlmsghdr *nlh, void *data)
{
	struct fw_netlink_keys *k = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *el;

	if (!s) {
		k->r = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		k->r = -EBADMSG;
		return MNL_CB_ERROR;
	}
	it = nftnl_set_elems_iter_create(s);
	if (!it) {
		nftnl_set_free(s);
		k->r = -ENOMEM;
		return MNL_CB_ERROR;
	}
	while ((el = nftnl_set_elems_iter_next(it))) {
		uint32_t len = 0;
		const void *key = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);

		if (!key || len != k->key_len) {
			k->odd++;
			continue;
		}
		if (*k->n == k->cap) {
			size_t nc = k->cap ? k->cap * 2 : 1024;
			uint8_t *nk = reallocarray(*k->keys, nc, k->key_len);

			if (!nk) {
				k->r = -ENOMEM;
				break;
			}
			*k->keys = nk;
			k->cap = nc;
		}
		memcpy(*k->keys + *k->n * k->key_len, key, k->key_len);
		(*k->n)++;
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return k->r < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int fw_netlink_set_keys(struct fw_netlink *nl, const char *table, const char *set, size_t key_len,
			uint8_t **keys, size_t *n, size_t *ret_odd)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct fw_netlink_keys k = {.key_len = key_len, .keys = keys, .n = n, .cap = *n};
	struct nlmsghdr *nlh;
	int r;

	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, ++nl->seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	errno = 0;
	r = fw_netlink_request(nl, nlh, fw_netlink_on_elems, &k);
	if (k.r < 0)
		return k.r;
	if (r == 0 && ret_odd)
		*ret_odd += k.odd;
	return r;
}

/* ---- The structure's digest ---- */

struct fw_netlink_digest {
	const char *table;
	uint16_t type; /* NFT_MSG_NEWCHAIN, NEWRULE or NEWSET */
	uint64_t h;
	bool any;
};

static void fw_netlink_fnv(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ULL;
	}
}

/*
 * Attributes that change without the structure changing: handles, positions, use counts, and
 * any attribute newer than these headers (newer kernels report a set's element count).
 */
static bool fw_netlink_is_volatile(uint16_t msg, uint16_t attr)
{
	switch (msg) {
	case NFT_MSG_NEWCHAIN:
		return attr == NFTA_CHAIN_HANDLE || attr == NFTA_CHAIN_USE ||
		       attr == NFTA_CHAIN_COUNTERS || attr >= __NFTA_CHAIN_MAX;
	case NFT_MSG_NEWRULE:
		return attr == NFTA_RULE_HANDLE || attr == NFTA_RULE_POSITION ||
		       attr == NFTA_RULE_ID || attr >= __NFTA_RULE_MAX;
	case NFT_MSG_NEWSET:
		return attr == NFTA_SET_HANDLE || attr == NFTA_SET_ID || attr >= __NFTA_SET_MAX;
	}
	return false;
}

static int fw_netlink_on_object(const struct nlmsghdr *nlh, void *data)
{
	struct fw_netlink_digest *d = data;
	const struct nlattr *a;
	bool ours = false;

	/* The first attribute of a chain, rule or set is its table's name (NFTA_*_TABLE == 1). */
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == 1) {
			ours = mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
			       strcmp(mnl_attr_get_str(a), d->table) == 0;
			break;
		}
	}
	if (!ours)
		return MNL_CB_OK;
	d->any = true;
	fw_netlink_fnv(&d->h, &d->type, sizeof(d->type));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		uint16_t t = mnl_attr_get_type(a);

		if (fw_netlink_is_volatile(d->type, t))
			continue;
		fw_netlink_fnv(&d->h, &t, sizeof(t));
		fw_netlink_fnv(&d->h, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
	}
	return MNL_CB_OK;
}

int fw_netlink_structure_digest(struct fw_netlink *nl, const char *table, uint64_t *ret_digest)
{
	static const struct {
		uint16_t get, reply, table_attr;
	} dumps[] = {
	    {NFT_MSG_GETCHAIN, NFT_MSG_NEWCHAIN, NFTA_CHAIN_TABLE},
	    {NFT_MSG_GETRULE, NFT_MSG_NEWRULE, NFTA_RULE_TABLE},
	    {NFT_MSG_GETSET, NFT_MSG_NEWSET, NFTA_SET_TABLE},
	};
	struct fw_netlink_digest d = {.table = table, .h = 0xcbf29ce484222325ULL};
	char req[MNL_SOCKET_BUFFER_SIZE], comment[8];
	int r = fw_netlink_table_comment(nl, table, comment, sizeof(comment));

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		struct nlmsghdr *nlh =
		    nftnl_nlmsg_build_hdr(req, dumps[i].get, NFPROTO_INET, NLM_F_DUMP, ++nl->seq);

		mnl_attr_put_strz(nlh, dumps[i].table_attr, table);
		d.type = dumps[i].reply;
		errno = 0;
		if ((r = fw_netlink_request(nl, nlh, fw_netlink_on_object, &d)) < 0)
			return r;
	}
	*ret_digest = d.h;
	return 0;
}

/* ---- A foreign forward policy of drop ---- */

struct fw_netlink_drop {
	const char *table;
	bool found;
};

static int fw_netlink_on_chain(const struct nlmsghdr *nlh, void *data)
{
	struct fw_netlink_drop *d = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *h;
	const char *table = NULL;
	bool forward = false, drop = false;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		switch (mnl_attr_get_type(a)) {
		case NFTA_CHAIN_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				table = mnl_attr_get_str(a);
			break;
		case NFTA_CHAIN_POLICY:
			drop = mnl_attr_validate(a, MNL_TYPE_U32) == 0 &&
			       ntohl(mnl_attr_get_u32(a)) == NF_DROP;
			break;
		case NFTA_CHAIN_HOOK:
			mnl_attr_for_each_nested(h, a)
			{
				if (mnl_attr_get_type(h) == NFTA_HOOK_HOOKNUM &&
				    mnl_attr_validate(h, MNL_TYPE_U32) == 0 &&
				    ntohl(mnl_attr_get_u32(h)) == NF_INET_FORWARD)
					forward = true;
			}
			break;
		}
	}
	/* Netdev chains number their hooks otherwise; kipvs's own table does not count. */
	if (forward && drop && g->nfgen_family != NFPROTO_NETDEV &&
	    !(g->nfgen_family == NFPROTO_INET && table && strcmp(table, d->table) == 0))
		d->found = true;
	return MNL_CB_OK;
}

int fw_netlink_forward_drop(struct fw_netlink *nl, const char *table, bool *ret_found)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct fw_netlink_drop d = {.table = table};
	struct nlmsghdr *nlh =
	    nftnl_nlmsg_build_hdr(req, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NLM_F_DUMP, ++nl->seq);
	int r;

	errno = 0;
	if ((r = fw_netlink_request(nl, nlh, fw_netlink_on_chain, &d)) < 0)
		return r;
	*ret_found = d.found;
	return 0;
}
