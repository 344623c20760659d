/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state file of one network namespace (<state_dir>/net-<inode>.state) and its lock
 * (net-<inode>.lock, flock): which virtual servers and addresses kipvs created, whether it
 * created the dummy interface, and when each draining real server started to drain. Text, one
 * record a line, replaced atomically (write to a temporary file, fsync, rename).
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define IPVS_STATE_MAGIC "kipvs-ipvs-state 1"

static void ipvs_state_fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

int ipvs_state_init(struct ipvs_state *st, const char *state_dir, const char *netns_path)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	if (stat(netns_path ? netns_path : "/proc/self/ns/net", &sb) < 0)
		return -errno;
	st->netns_inode = (uint64_t)sb.st_ino;
	if (snprintf(st->path, sizeof(st->path), "%s/net-%llu.state", state_dir,
		     (unsigned long long)sb.st_ino) >= (int)sizeof(st->path) ||
	    snprintf(st->lock_path, sizeof(st->lock_path), "%s/net-%llu.lock", state_dir,
		     (unsigned long long)sb.st_ino) >= (int)sizeof(st->lock_path))
		return -ENAMETOOLONG;
	snprintf(st->dir, sizeof(st->dir), "%s", state_dir);
	return 0;
}

int ipvs_state_lock(struct ipvs_state *st)
{
	int fd;

	if (mkdir(st->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(st->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	st->lock_fd = fd;
	return 0;
}

static struct ipvs_state_drain *ipvs_state_drain_lookup(const struct ipvs_state *st,
							const struct ipvs_key *vs,
							const struct ipvs_key *rs)
{
	struct ipvs_state_drain *d = NULL;
	struct ipvs_state_pair key = {.vs = *vs, .rs = *rs};

	HASH_FIND(hh, st->drains, &key, sizeof(key), d);
	return d;
}

struct ipvs_state_drain *ipvs_state_drain_find(const struct ipvs_state *st,
					       const struct ipvs_key *vs, const struct ipvs_key *rs)
{
	return ipvs_state_drain_lookup(st, vs, rs);
}

struct ipvs_state_drain *ipvs_state_drain_add(struct ipvs_state *st, const struct ipvs_key *vs,
					      const struct ipvs_key *rs, uint64_t since_ms)
{
	struct ipvs_state_drain *d = ipvs_state_drain_lookup(st, vs, rs);

	if (d)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->pair.vs = *vs;
	d->pair.rs = *rs;
	d->since_ms = since_ms;
	HASH_ADD(hh, st->drains, pair, sizeof(d->pair), d);
	st->dirty = true;
	return d;
}

void ipvs_state_drain_del(struct ipvs_state *st, struct ipvs_state_drain *d)
{
	HASH_DEL(st->drains, d);
	free(d);
	st->dirty = true;
}

struct ipvs_state_addr *ipvs_state_addrset_find(struct ipvs_state_addr *set,
						const struct net_addr *addr)
{
	struct ipvs_state_addr *a = NULL;
	struct net_addr key = {.family = addr->family};

	memcpy(key.bytes, addr->bytes, (size_t)net_addr_len(addr));
	HASH_FIND(hh, set, &key, sizeof(key), a);
	return a;
}

int ipvs_state_addrset_add(struct ipvs_state_addr **set, const struct net_addr *addr)
{
	struct ipvs_state_addr *a;

	if (ipvs_state_addrset_find(*set, addr))
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->addr.family = addr->family;
	memcpy(a->addr.bytes, addr->bytes, (size_t)net_addr_len(addr));
	HASH_ADD(hh, *set, addr, sizeof(a->addr), a);
	return 1;
}

void ipvs_state_addrset_clear(struct ipvs_state_addr **set)
{
	struct ipvs_state_addr *a, *tmp;

	HASH_ITER(hh, *set, a, tmp)
	{
		HASH_DEL(*set, a);
		free(a);
	}
}

bool ipvs_state_addr_has(const struct ipvs_state *st, const struct net_addr *addr)
{
	return ipvs_state_addrset_find(st->addrs, addr) != NULL;
}

int ipvs_state_addr_add(struct ipvs_state *st, const struct net_addr *addr)
{
	int r = ipvs_state_addrset_add(&st->addrs, addr);

	if (r < 0)
		return r;
	if (r > 0)
		st->dirty = true;
	return 0;
}

void ipvs_state_addr_del(struct ipvs_state *st, const struct net_addr *addr)
{
	struct ipvs_state_addr *a = ipvs_state_addrset_find(st->addrs, addr);

	if (a) {
		HASH_DEL(st->addrs, a);
		free(a);
		st->dirty = true;
	}
}

static int ipvs_state_proto_parse(const char *s, uint8_t *ret)
{
	if (strcmp(s, "tcp") == 0)
		*ret = IPPROTO_TCP;
	else if (strcmp(s, "udp") == 0)
		*ret = IPPROTO_UDP;
	else if (strcmp(s, "sctp") == 0)
		*ret = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

static int ipvs_state_key_parse(const char *addr, const char *port, uint8_t protocol,
				struct ipvs_key *ret)
{
	struct net_addr a;
	char *end;
	unsigned long p;

	if (net_addr_parse(addr, &a) < 0)
		return -EINVAL;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || end == port || p > 65535)
		return -EINVAL;
	ipvs_key_init(ret, &a, (uint16_t)p, protocol);
	return 0;
}

/* One line; -EINVAL when it is not a record this version writes. */
static int ipvs_state_parse_line(struct ipvs_state *st, char *line)
{
	char *tok[8];
	size_t n = 0;
	struct ipvs_key vs, rs;
	struct net_addr addr;
	uint8_t proto;
	char *save = NULL, *end;

	for (char *t = strtok_r(line, " \t\n", &save); t && n < 8;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	if (n == 0 || tok[0][0] == '#')
		return 0;
	if (strcmp(tok[0], "interface") == 0 && n == 3) {
		snprintf(st->ifname, sizeof(st->ifname), "%s", tok[1]);
		st->link_created = strcmp(tok[2], "created") == 0;
		return 0;
	}
	if (strcmp(tok[0], "vs") == 0 && n == 4) {
		struct ipvs_key *grown;

		if (ipvs_state_proto_parse(tok[1], &proto) < 0 ||
		    ipvs_state_key_parse(tok[2], tok[3], proto, &vs) < 0)
			return -EINVAL;
		grown = realloc(st->vs, (st->n_vs + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		st->vs = grown;
		st->vs[st->n_vs++] = vs;
		return 0;
	}
	if (strcmp(tok[0], "addr") == 0 && n == 2) {
		if (net_addr_parse(tok[1], &addr) < 0)
			return -EINVAL;
		return ipvs_state_addr_add(st, &addr);
	}
	if (strcmp(tok[0], "drain") == 0 && (n == 7 || n == 8)) {
		unsigned long long since;
		struct ipvs_state_drain *d;

		if (ipvs_state_proto_parse(tok[1], &proto) < 0 ||
		    ipvs_state_key_parse(tok[2], tok[3], proto, &vs) < 0 ||
		    ipvs_state_key_parse(tok[4], tok[5], 0, &rs) < 0)
			return -EINVAL;
		errno = 0;
		since = strtoull(tok[6], &end, 10);
		if (errno || *end)
			return -EINVAL;
		d = ipvs_state_drain_add(st, &vs, &rs, since);
		if (!d)
			return -ENOMEM;
		return 0;
	}
	return -EINVAL;
}

int ipvs_state_parse(struct ipvs_state *st, FILE *f, unsigned *ret_bad_line)
{
	char line[512];
	unsigned lineno = 0;
	int r;

	if (!fgets(line, sizeof(line), f))
		return -EBADMSG;
	lineno++;
	if (strncmp(line, IPVS_STATE_MAGIC, strlen(IPVS_STATE_MAGIC)) != 0) {
		if (ret_bad_line)
			*ret_bad_line = 1;
		return -EBADMSG;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		r = ipvs_state_parse_line(st, line);
		if (r == -EINVAL) {
			if (ret_bad_line)
				*ret_bad_line = lineno;
			return -EBADMSG;
		}
		if (r < 0)
			return r;
	}
	st->dirty = false;
	return 0;
}

int ipvs_state_load(struct ipvs_state *st, unsigned *ret_bad_line)
{
	_cleanup_(ipvs_state_fclosep) FILE *f = fopen(st->path, "re");

	if (!f)
		return -errno;
	return ipvs_state_parse(st, f, ret_bad_line);
}

static void ipvs_state_key_write(FILE *f, const struct ipvs_key *key)
{
	struct net_addr a;
	char buf[NET_ADDR_STRLEN];

	ipvs_key_to_net_addr(key, &a);
	fprintf(f, " %s %u", net_addr_format(&a, buf), key->port);
}

static bool ipvs_state_vs_write(const struct ipvs_key *key, void *userdata)
{
	FILE *f = userdata;

	fprintf(f, "vs %s", ipvs_protocol_to_string(key->protocol));
	ipvs_state_key_write(f, key);
	fputc('\n', f);
	return true;
}

int ipvs_state_write(const struct ipvs_state *st, const struct ipvs_sync *s, FILE *f)
{
	struct ipvs_state_addr *a, *atmp;
	struct ipvs_state_drain *d, *dtmp;
	char buf[NET_ADDR_STRLEN];

	fprintf(f, IPVS_STATE_MAGIC
		"\n# written by kipvs; read at start. Do not edit while it runs.\n");
	if (st->ifname[0])
		fprintf(f, "interface %s %s\n", st->ifname, st->link_created ? "created" : "found");
	if (s)
		(void)ipvs_sync_owned_foreach(s, ipvs_state_vs_write, f);
	HASH_ITER(hh, st->addrs, a, atmp)
	fprintf(f, "addr %s\n", net_addr_format(&a->addr, buf));
	HASH_ITER(hh, st->drains, d, dtmp)
	{
		fprintf(f, "drain %s", ipvs_protocol_to_string(d->pair.vs.protocol));
		ipvs_state_key_write(f, &d->pair.vs);
		ipvs_state_key_write(f, &d->pair.rs);
		fprintf(f, " %llu\n", (unsigned long long)d->since_ms);
	}
	return ferror(f) ? -EIO : 0;
}

int ipvs_state_save(struct ipvs_state *st, const struct ipvs_sync *s)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", st->path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	r = ipvs_state_write(st, s, f);
	if (r >= 0 && (fflush(f) == EOF || fsync(fileno(f)) < 0))
		r = -errno;
	if (fclose(f) == EOF && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, st->path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	st->dirty = false;
	return 0;
}

int ipvs_state_remove(struct ipvs_state *st)
{
	if (unlink(st->path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

void ipvs_state_clear(struct ipvs_state *st)
{
	struct ipvs_state_drain *d, *dtmp;

	ipvs_state_addrset_clear(&st->addrs);
	HASH_ITER(hh, st->drains, d, dtmp)
	{
		HASH_DEL(st->drains, d);
		free(d);
	}
	free(st->vs);
	st->vs = NULL;
	st->n_vs = 0;
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	st->lock_fd = -1;
}
