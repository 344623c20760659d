/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address changes in batches (ipvs_internal.h): RTM_NEWADDR / RTM_DELADDR requests packed many
 * to one sendmsg, each with its own ACK, the answers matched back by sequence number. The
 * kernel handles every message of a datagram inside sendmsg, so a batch costs two system calls
 * instead of two per address; at 10 000 VIPs the round trips were most of the VIP phase.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_addr.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>

#include "cleanup.h"

/*
 * Messages per sendmsg: the floor benchmark's figure. Each ACK echoes its request (about 100
 * bytes), so a batch's answers fit any default receive buffer.
 */
#define IPVS_VIP_BATCH 64

/* One request for addr, appended to buf at *len (room checked by the caller's sizing). */
static int ipvs_vip_batch_put(struct nl_sock *sk, int ifindex, const struct net_addr *addr,
			      bool add, uint32_t seq, uint8_t *buf, size_t cap, size_t *len)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	struct nl_msg *msg = NULL;
	struct nlmsghdr *h;
	int r = -ENOMEM;

	if (!ra)
		return -ENOMEM;
	local = nl_addr_build(addr->family, addr->bytes, (size_t)net_addr_len(addr));
	if (!local)
		goto out;
	nl_addr_set_prefixlen(local, net_addr_bits(addr));
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, addr->family);
	if (rtnl_addr_set_local(ra, local) < 0)
		goto out;
	rtnl_addr_set_prefixlen(ra, net_addr_bits(addr));
	/* No duplicate address detection: the address must answer at once. */
	if (addr->family == AF_INET6)
		rtnl_addr_set_flags(ra, IFA_F_NODAD);
	r = add ? rtnl_addr_build_add_request(ra, NLM_F_CREATE | NLM_F_REPLACE, &msg)
		: rtnl_addr_build_delete_request(ra, 0, &msg);
	if (r < 0) {
		r = -ENOMEM;
		goto out;
	}
	h = nlmsg_hdr(msg);
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = nl_socket_get_local_port(sk);
	if (*len + NLMSG_ALIGN(h->nlmsg_len) > cap) {
		r = -EMSGSIZE;
		goto out;
	}
	memcpy(buf + *len, h, h->nlmsg_len);
	*len += NLMSG_ALIGN(h->nlmsg_len);
	r = 0;
out:
	nlmsg_free(msg);
	nl_addr_put(local);
	rtnl_addr_put(ra);
	return r;
}

/* Reads answers until each of the n requests from first_seq has one; errs[i] gets its error. */
static int ipvs_vip_batch_answers(struct nl_sock *sk, uint32_t first_seq, size_t n, int *errs)
{
	size_t answered = 0;

	while (answered < n) {
		_cleanup_free_ unsigned char *buf = NULL;
		struct sockaddr_nl peer;
		int len = nl_recv(sk, &peer, &buf, NULL);
		struct nlmsghdr *h;

		if (len <= 0)
			return -EIO; /* the unanswered keep -EIO */
		for (h = (struct nlmsghdr *)buf; nlmsg_ok(h, len); h = nlmsg_next(h, &len)) {
			const struct nlmsgerr *e = nlmsg_data(h);
			uint32_t i = h->nlmsg_seq - first_seq;

			if (h->nlmsg_type != NLMSG_ERROR || i >= n)
				continue; /* not an answer to this batch */
			errs[i] = e->error;
			answered++;
		}
	}
	return 0;
}

int ipvs_vip_batch_change(struct nl_sock *sk, int ifindex, const struct net_addr *addrs, size_t n,
			  bool add, int *ret_errs)
{
	/* A request is under 100 bytes; 256 each leaves room for any attribute libnl adds. */
	_cleanup_free_ uint8_t *buf = malloc(IPVS_VIP_BATCH * 256);
	int r;

	if (!buf)
		return -ENOMEM;
	for (size_t start = 0; start < n; start += IPVS_VIP_BATCH) {
		size_t count = n - start < IPVS_VIP_BATCH ? n - start : IPVS_VIP_BATCH, len = 0;
		uint32_t first = nl_socket_use_seq(sk);

		/* Sequence numbers first .. first + count - 1 are this batch's. */
		for (size_t i = 1; i < count; i++)
			(void)nl_socket_use_seq(sk);
		for (size_t i = 0; i < count; i++) {
			ret_errs[start + i] = -EIO; /* until its answer says otherwise */
			r = ipvs_vip_batch_put(sk, ifindex, &addrs[start + i], add,
					       first + (uint32_t)i, buf, IPVS_VIP_BATCH * 256, &len);
			if (r < 0)
				return r;
		}
		r = nl_sendto(sk, buf, len);
		if (r < 0)
			return -EIO;
		r = ipvs_vip_batch_answers(sk, first, count, ret_errs + start);
		if (r < 0)
			return r;
	}
	return 0;
}
