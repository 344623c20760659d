/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VIP binding: the dummy interface (kube-ipvs0 by default, NOARP) holds every virtual server
 * address as /32 or /128, so that packets to it enter IPVS at LOCAL_IN. Through libnl-route-3:
 * the bound set is read once at open, then only the differences are sent.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "cleanup.h"

struct ipvs_vip_entry {
	struct net_addr addr; /* hash key: memset before filling */
	bool wanted;
	UT_hash_handle hh;
};

struct ipvs_vip {
	struct nl_sock *sk;
	/*
	 * Address batches read their answers past libnl's sequence tracking, so they have a
	 * socket of their own: sk's next request still finds the sequence libnl expects.
	 */
	struct nl_sock *batch_sk;
	int ifindex;
	char ifname[IFNAMSIZ];
	bool created;		      /* kipvs created the interface, so cleanup may delete it */
	bool no_create;		      /* open only an existing interface (cleanup) */
	struct ipvs_vip_entry *bound; /* uthash: what the interface holds */
	struct ipvs_vip_entry *local; /* uthash: addresses on the node's other interfaces */
};

/* libnl's NLE_* to -errno, at the boundary. */
static int ipvs_vip_errno(int nle)
{
	switch (-nle) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NOADDR:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static struct ipvs_vip_entry *ipvs_vip_set_find(struct ipvs_vip_entry *set,
						const struct net_addr *addr)
{
	struct ipvs_vip_entry *e = NULL;
	struct net_addr key;

	memset(&key, 0, sizeof(key));
	key.family = addr->family;
	memcpy(key.bytes, addr->bytes, (size_t)net_addr_len(addr));
	HASH_FIND(hh, set, &key, sizeof(key), e);
	return e;
}

static struct ipvs_vip_entry *ipvs_vip_find(const struct ipvs_vip *v, const struct net_addr *addr)
{
	return ipvs_vip_set_find(v->bound, addr);
}

static int ipvs_vip_set_add(struct ipvs_vip_entry **set, const struct net_addr *addr)
{
	struct ipvs_vip_entry *e;

	if (ipvs_vip_set_find(*set, addr))
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->addr.family = addr->family;
	memcpy(e->addr.bytes, addr->bytes, (size_t)net_addr_len(addr));
	HASH_ADD(hh, *set, addr, sizeof(e->addr), e);
	return 0;
}

static int ipvs_vip_remember(struct ipvs_vip *v, const struct net_addr *addr)
{
	return ipvs_vip_set_add(&v->bound, addr);
}

static void ipvs_vip_forget(struct ipvs_vip *v, struct ipvs_vip_entry *e)
{
	HASH_DEL(v->bound, e);
	free(e);
}

/*
 * Finds the interface, or creates it as a NOARP dummy (and marks it as created); brings it up
 * either way. 1 when it created it, 0 when it found it, or -errno.
 */
static int ipvs_vip_link(struct ipvs_vip *v)
{
	struct rtnl_link *link = NULL, *change;
	bool made = false;
	int r;

	r = rtnl_link_get_kernel(v->sk, 0, v->ifname, &link);
	if ((r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV) && v->no_create)
		return -ENODEV;
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV) {
		struct rtnl_link *want = rtnl_link_alloc();

		if (!want)
			return -ENOMEM;
		rtnl_link_set_name(want, v->ifname);
		r = rtnl_link_set_type(want, "dummy");
		if (r >= 0) {
			rtnl_link_set_flags(want, IFF_NOARP | IFF_UP);
			r = rtnl_link_add(v->sk, want, NLM_F_CREATE | NLM_F_EXCL);
		}
		rtnl_link_put(want);
		if (r < 0)
			return ipvs_vip_errno(r);
		v->created = made = true;
		r = rtnl_link_get_kernel(v->sk, 0, v->ifname, &link);
	}
	if (r < 0)
		return ipvs_vip_errno(r);
	v->ifindex = rtnl_link_get_ifindex(link);
	if ((rtnl_link_get_flags(link) & (IFF_UP | IFF_NOARP)) != (IFF_UP | IFF_NOARP)) {
		change = rtnl_link_alloc();
		if (!change) {
			rtnl_link_put(link);
			return -ENOMEM;
		}
		rtnl_link_set_flags(change, IFF_UP | IFF_NOARP);
		r = rtnl_link_change(v->sk, link, change, 0);
		rtnl_link_put(change);
	}
	rtnl_link_put(link);
	return r < 0 ? ipvs_vip_errno(r) : made;
}

struct ipvs_vip_read {
	struct ipvs_vip *v;
	int err;
};

static void ipvs_vip_on_addr(struct nl_object *obj, void *arg)
{
	struct ipvs_vip_read *rd = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(a);
	struct net_addr addr = {0};
	int r;

	if (!local)
		return;
	addr.family = nl_addr_get_family(local);
	if ((addr.family != AF_INET && addr.family != AF_INET6) ||
	    nl_addr_get_len(local) != (unsigned)net_addr_len(&addr))
		return;
	memcpy(addr.bytes, nl_addr_get_binary_addr(local), (size_t)net_addr_len(&addr));
	/* Link-local IPv6 addresses belong to the interface, not to a Service. */
	if (addr.family == AF_INET6 && addr.bytes[0] == 0xfe && (addr.bytes[1] & 0xc0) == 0x80)
		return;
	if (rtnl_addr_get_ifindex(a) != rd->v->ifindex)
		r = ipvs_vip_set_add(&rd->v->local, &addr);
	else
		r = ipvs_vip_remember(rd->v, &addr);
	if (r < 0)
		rd->err = r;
}

static int ipvs_vip_read(struct ipvs_vip *v)
{
	struct nl_cache *cache = NULL;
	struct ipvs_vip_read rd = {.v = v};
	int r = rtnl_addr_alloc_cache(v->sk, &cache);

	if (r < 0)
		return ipvs_vip_errno(r);
	nl_cache_foreach(cache, ipvs_vip_on_addr, &rd);
	nl_cache_free(cache);
	return rd.err;
}

static void ipvs_vip_set_free(struct ipvs_vip_entry **set)
{
	struct ipvs_vip_entry *e, *tmp;

	HASH_ITER(hh, *set, e, tmp)
	{
		HASH_DEL(*set, e);
		free(e);
	}
}

static bool ipvs_vip_set_equal(struct ipvs_vip_entry *a, struct ipvs_vip_entry *b)
{
	struct ipvs_vip_entry *e, *tmp;

	if (HASH_COUNT(a) != HASH_COUNT(b))
		return false;
	HASH_ITER(hh, a, e, tmp)
	{
		if (!ipvs_vip_set_find(b, &e->addr))
			return false;
	}
	return true;
}

int ipvs_vip_refresh(struct ipvs_vip *v, bool *ret_recreated)
{
	struct ipvs_vip_entry *old_bound, *old_local;
	bool same;
	int r = ipvs_vip_link(v);

	if (r < 0)
		return r;
	*ret_recreated = r > 0;
	/* The handle's view of the node's addresses, read again and compared with the last. */
	old_bound = v->bound;
	old_local = v->local;
	v->bound = v->local = NULL;
	r = ipvs_vip_read(v);
	same = ipvs_vip_set_equal(old_bound, v->bound) && ipvs_vip_set_equal(old_local, v->local);
	ipvs_vip_set_free(&old_bound);
	ipvs_vip_set_free(&old_local);
	return r < 0 ? r : !same || *ret_recreated;
}

static int ipvs_vip_open_flags(const char *ifname, bool create, struct ipvs_vip **ret_vip)
{
	struct ipvs_vip *v;
	bool created; /* v->created records it */
	int r;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->no_create = !create;
	snprintf(v->ifname, sizeof(v->ifname), "%s", ifname);
	v->sk = nl_socket_alloc();
	v->batch_sk = nl_socket_alloc();
	if (!v->sk || !v->batch_sk) {
		r = -ENOMEM;
		goto out_free;
	}
	r = nl_connect(v->sk, NETLINK_ROUTE);
	if (r >= 0)
		r = nl_connect(v->batch_sk, NETLINK_ROUTE);
	if (r < 0) {
		r = ipvs_vip_errno(r);
		goto out_free;
	}
	r = ipvs_vip_refresh(v, &created);
	if (r < 0)
		goto out_free;
	*ret_vip = v;
	return 0;
out_free:
	ipvs_vip_free(v);
	return r;
}

int ipvs_vip_open(const char *ifname, struct ipvs_vip **ret_vip)
{
	return ipvs_vip_open_flags(ifname, true, ret_vip);
}

int ipvs_vip_open_existing(const char *ifname, struct ipvs_vip **ret_vip)
{
	return ipvs_vip_open_flags(ifname, false, ret_vip);
}

struct ipvs_vip *ipvs_vip_free(struct ipvs_vip *v)
{
	if (!v)
		return NULL;
	ipvs_vip_set_free(&v->bound);
	ipvs_vip_set_free(&v->local);
	if (v->sk)
		nl_socket_free(v->sk);
	if (v->batch_sk)
		nl_socket_free(v->batch_sk);
	free(v);
	return NULL;
}

bool ipvs_vip_created_link(const struct ipvs_vip *v)
{
	return v->created;
}

size_t ipvs_vip_count(const struct ipvs_vip *v)
{
	return HASH_COUNT(v->bound);
}

/*
 * Adds (add=true) or deletes addrs[] as full-length prefixes on the interface, in batches, and
 * keeps the bound set in step; errs[i] is each address's answer. Already there / already gone
 * is success: idempotence lives here. 0, or -errno when the batch itself broke off.
 */
static int ipvs_vip_change(struct ipvs_vip *v, const struct net_addr *addrs, size_t n, bool add,
			   int *errs)
{
	int r = ipvs_vip_batch_change(v->batch_sk, v->ifindex, addrs, n, add, errs);

	for (size_t i = 0; i < n; i++) {
		struct ipvs_vip_entry *e;

		if ((add && errs[i] == -EEXIST) ||
		    (!add && (errs[i] == -ENOENT || errs[i] == -EADDRNOTAVAIL)))
			errs[i] = 0;
		if (errs[i] < 0)
			continue;
		e = ipvs_vip_find(v, &addrs[i]);
		if (add && !e)
			errs[i] = ipvs_vip_remember(v, &addrs[i]);
		else if (!add && e)
			ipvs_vip_forget(v, e);
	}
	return r;
}

int ipvs_vip_sync(struct ipvs_vip *v, const struct net_addr *want, size_t n_want,
		  unsigned *ret_added, unsigned *ret_removed)
{
	struct ipvs_vip_entry *e, *tmp;
	size_t n_add = 0, n_del = 0;
	unsigned added = 0, removed = 0;
	int first_err = 0, r;
	_cleanup_free_ struct net_addr *add = calloc(n_want ? n_want : 1, sizeof(*add));
	_cleanup_free_ struct net_addr *del = calloc(HASH_COUNT(v->bound) + 1, sizeof(*del));
	_cleanup_free_ int *errs = calloc(n_want + HASH_COUNT(v->bound) + 1, sizeof(*errs));

	if (!add || !del || !errs)
		return -ENOMEM;
	HASH_ITER(hh, v->bound, e, tmp)
	e->wanted = false;
	for (size_t i = 0; i < n_want; i++) {
		e = ipvs_vip_find(v, &want[i]);
		if (e)
			e->wanted = true;
		else
			add[n_add++] = want[i];
	}
	HASH_ITER(hh, v->bound, e, tmp)
	if (!e->wanted)
		del[n_del++] = e->addr;
	r = ipvs_vip_change(v, add, n_add, true, errs);
	if (r == 0)
		r = ipvs_vip_change(v, del, n_del, false, errs + n_add);
	for (size_t i = 0; i < n_add + n_del; i++) {
		if (errs[i] < 0 && !first_err)
			first_err = errs[i];
		else if (errs[i] == 0 && i < n_add)
			added++;
		else if (errs[i] == 0)
			removed++;
	}
	if (ret_added)
		*ret_added = added;
	if (ret_removed)
		*ret_removed = removed;
	return r < 0 ? r : first_err;
}

int ipvs_vip_remove_link(struct ipvs_vip *v)
{
	struct rtnl_link *link;
	int r;

	if (!v->created)
		return 0;
	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, v->ifindex);
	r = rtnl_link_delete(v->sk, link);
	rtnl_link_put(link);
	return r < 0 ? ipvs_vip_errno(r) : 0;
}

int ipvs_vip_bind_many(struct ipvs_vip *v, const struct net_addr *addrs, size_t n, int *errs)
{
	return ipvs_vip_change(v, addrs, n, true, errs);
}

int ipvs_vip_unbind_many(struct ipvs_vip *v, const struct net_addr *addrs, size_t n, int *errs)
{
	return ipvs_vip_change(v, addrs, n, false, errs);
}

int ipvs_vip_unbind(struct ipvs_vip *v, const struct net_addr *addr)
{
	int err = 0, r = ipvs_vip_unbind_many(v, addr, 1, &err);

	return r < 0 ? r : err;
}

bool ipvs_vip_has(const struct ipvs_vip *v, const struct net_addr *addr)
{
	return ipvs_vip_find(v, addr) != NULL;
}

bool ipvs_vip_is_local_elsewhere(const struct ipvs_vip *v, const struct net_addr *addr)
{
	return ipvs_vip_set_find(v->local, addr) != NULL;
}

void ipvs_vip_set_created_link(struct ipvs_vip *v, bool created)
{
	v->created = created;
}

int ipvs_vip_foreach(const struct ipvs_vip *v, int (*fn)(const struct net_addr *addr, void *ud),
		     void *userdata)
{
	struct ipvs_vip_entry *e, *tmp;
	int r;

	HASH_ITER(hh, v->bound, e, tmp)
	{
		r = fn(&e->addr, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}
