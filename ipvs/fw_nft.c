/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs's nftables table (ipvs/fw.h): the base chains, sets and rules through libnftables
 * (installed once, kept across restarts by a fingerprint in the table's comment, read back over
 * netlink), the element adds and deletes of each sync as one binary netlink batch
 * (fw_netlink.c; the interval sets as libnftables text), read-back verification in binary,
 * removal, and the check for a foreign forward policy of drop.
 */
#include "fw.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "cleanup.h"
#include "fw_internal.h"
#include "log.h"
#include "net_addr.h"
#include "plan_fw.h"

struct fw {
	struct nft_ctx *nft;
	char *table;
	char *base; /* the table block without its comment, for the fingerprint */
	uint64_t fingerprint;
	struct plan_fw known; /* what the sets hold, when !resync */
	bool resync;
	bool structure_off;    /* a reinstall did not help: the structure check is off (logged) */
	bool installed;	       /* this handle created or kept the table (fw_base_ensure()) */
	bool ensured;	       /* fw_base_ensure() succeeded and nothing failed or verified since */
	struct fw_netlink *nl; /* opened on first use */
	uint64_t digest;       /* fw_netlink_structure_digest() of a table known to be kipvs's */
	bool digest_ok;
};

/* The netlink handle, opened on first use (fw_open() touches no socket). */
static int fw_nl(struct fw *fw, struct fw_netlink **ret_nl)
{
	int r;

	if (!fw->nl && (r = fw_netlink_open(&fw->nl)) < 0)
		return r;
	*ret_nl = fw->nl;
	return 0;
}

static void fw_filep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fw_filep)

/* ---- libnftables: one choke point ---- */

static int fw_errno_from_text(const char *text)
{
	if (!text)
		return -EIO;
	if (strstr(text, "No such file or directory"))
		return -ENOENT;
	if (strstr(text, "Operation not permitted"))
		return -EPERM;
	if (strstr(text, "File exists"))
		return -EEXIST;
	if (strstr(text, "Cannot allocate memory"))
		return -ENOMEM;
	if (strstr(text, "Device or resource busy"))
		return -EBUSY;
	return -EIO;
}

/*
 * Runs buf as one nft -f input (one transaction). On success, *ret_out (may be NULL) gets a
 * malloc'd copy of the output. On failure, returns -errno and copies the error text into err.
 */
static int fw_run(struct nft_ctx *nft, const char *buf, char **ret_out, char *err, size_t err_size)
{
	const char *etext, *otext;
	int rc;

	if (nft_ctx_buffer_output(nft) != 0 || nft_ctx_buffer_error(nft) != 0)
		return -ENOMEM;
	rc = nft_run_cmd_from_buffer(nft, buf);
	etext = nft_ctx_get_error_buffer(nft);
	otext = nft_ctx_get_output_buffer(nft);
	if (rc != 0) {
		int r = fw_errno_from_text(etext);

		if (err && err_size) {
			size_t n;

			snprintf(err, err_size, "%s", etext && *etext ? etext : "nft failed");
			n = strlen(err);
			while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
				err[--n] = '\0';
			for (char *p = err; *p; p++)
				if (*p == '\n' || *p == '\t')
					*p = ' ';
		}
		(void)nft_ctx_unbuffer_output(nft);
		(void)nft_ctx_unbuffer_error(nft);
		return r;
	}
	if (ret_out) {
		*ret_out = strdup(otext ? otext : "");
		if (!*ret_out) {
			(void)nft_ctx_unbuffer_output(nft);
			(void)nft_ctx_unbuffer_error(nft);
			return -ENOMEM;
		}
	}
	(void)nft_ctx_unbuffer_output(nft);
	(void)nft_ctx_unbuffer_error(nft);
	return 0;
}

static struct nft_ctx *fw_nft_new(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (nft)
		nft_ctx_output_set_flags(nft, 0); /* numeric ports, names for protocols */
	return nft;
}

/* ---- Sets and elements ---- */

static const char *fw_proto_name(enum kube_proto p)
{
	switch (p) {
	case KUBE_PROTO_TCP:
		return "tcp";
	case KUBE_PROTO_UDP:
		return "udp";
	case KUBE_PROTO_SCTP:
		return "sctp";
	case _KUBE_PROTO_MAX:
		break;
	}
	return "tcp";
}

/* The key of a set, "A" standing for the address type of its family. */
static const char *fw_set_key(enum plan_fw_set set, bool *ret_interval)
{
	*ret_interval = fw_set_is_interval(set);
	switch (fw_set_shape(set)) {
	case FW_KEY_ADDR:
		return "A";
	case FW_KEY_ADDR_PROTO_PORT:
		return "A . inet_proto . inet_service";
	case FW_KEY_PROTO_PORT:
		return "inet_proto . inet_service";
	case FW_KEY_ADDR_PROTO_PORT_ADDR:
		return "A . inet_proto . inet_service . A";
	}
	return NULL;
}

/* True for the one set shared by both families. */
static bool fw_set_is_shared(enum plan_fw_set set)
{
	return set == PLAN_FW_SET_HC_NODE_PORT;
}

/* The set's name: "cluster_ip4", "cluster_ip6", "hc_node_port". */
static void fw_set_name(enum plan_fw_set set, int family, char *buf, size_t size)
{
	if (fw_set_is_shared(set))
		snprintf(buf, size, "%s", plan_fw_set_to_string(set));
	else
		snprintf(buf, size, "%s%c", plan_fw_set_to_string(set),
			 family == AF_INET6 ? '6' : '4');
}

/* One element as nft prints it ("10.96.0.10 . tcp . 80"). */
static void fw_elem_format(const struct plan_fw_elem *e, char *buf, size_t size)
{
	char a[NET_ADDR_STRLEN], a2[NET_ADDR_STRLEN];
	const char *p = fw_proto_name(e->proto);

	if (e->set >= _PLAN_FW_SET_MAX) {
		snprintf(buf, size, "?");
		return;
	}
	switch (fw_set_shape(e->set)) {
	case FW_KEY_ADDR:
		snprintf(buf, size, "%s", net_addr_format(&e->addr, a));
		return;
	case FW_KEY_ADDR_PROTO_PORT:
		snprintf(buf, size, "%s . %s . %u", net_addr_format(&e->addr, a), p, e->port);
		return;
	case FW_KEY_PROTO_PORT:
		snprintf(buf, size, "%s . %u", p, e->port);
		return;
	case FW_KEY_ADDR_PROTO_PORT_ADDR:
		/* A range (the interval set) is written with its prefix length. */
		if (fw_set_is_interval(e->set) && e->prefix_len != net_addr_bits(&e->addr2))
			snprintf(buf, size, "%s . %s . %u . %s/%u", net_addr_format(&e->addr, a), p,
				 e->port, net_addr_format(&e->addr2, a2), e->prefix_len);
		else
			snprintf(buf, size, "%s . %s . %u . %s", net_addr_format(&e->addr, a), p,
				 e->port, net_addr_format(&e->addr2, a2));
		return;
	}
}

static int fw_elem_family(const struct plan_fw_elem *e)
{
	return e->addr.family == AF_INET6 ? AF_INET6 : AF_INET;
}

/*
 * Writes "<verb> element inet T NAME { e1, e2 }" lines for elems (sorted by set, then family),
 * one line per set. Returns how many elements it wrote.
 */
static unsigned fw_write_elements(FILE *f, const char *verb, const char *table,
				  const struct plan_fw *elems)
{
	unsigned n = 0;

	for (size_t i = 0; i < elems->n_elems;) {
		const struct plan_fw_elem *first = &elems->elems[i];
		char name[64], text[256];
		size_t j = i;

		fw_set_name(first->set, fw_elem_family(first), name, sizeof(name));
		fprintf(f, "%s element inet %s %s { ", verb, table, name);
		for (; j < elems->n_elems && elems->elems[j].set == first->set &&
		       (fw_set_is_shared(first->set) ||
			fw_elem_family(&elems->elems[j]) == fw_elem_family(first));
		     j++) {
			fw_elem_format(&elems->elems[j], text, sizeof(text));
			fprintf(f, "%s%s", j == i ? "" : ", ", text);
			n++;
		}
		fprintf(f, " }\n");
		i = j;
	}
	return n;
}

/* ---- The base table ---- */

static uint64_t fw_fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The loadBalancerSourceRanges drop: to an lb_filtered entry from a source outside lb_source. */
static void fw_write_lb_filter(FILE *f, int family)
{
	const char *ip = family == AF_INET6 ? "ip6" : "ip";
	char v = family == AF_INET6 ? '6' : '4';

	fprintf(f,
		"\t\t%s daddr . meta l4proto . th dport @lb_filtered%c %s daddr . meta l4proto . "
		"th dport . %s saddr != @lb_source%c drop\n",
		ip, v, ip, ip, v);
}

/*
 * The rules of one family (ip or ip6) in each chain. NodePorts are matched by their node
 * address (the sets' keys), never by `fib daddr type local`: the VIPs on the dummy interface
 * are local addresses too.
 */
static void fw_write_rules(FILE *f, const struct fw_config *cfg, int family, const char *chain)
{
	const char *ip = family == AF_INET6 ? "ip6" : "ip";
	char v = family == AF_INET6 ? '6' : '4';
	const char *key = family == AF_INET6 ? "ip6 daddr . meta l4proto . th dport"
					     : "ip daddr . meta l4proto . th dport";
	bool have_cidr = false;

	for (size_t i = 0; i < cfg->n_cluster_cidrs; i++)
		if (cfg->cluster_cidrs[i].addr.family == family)
			have_cidr = true;

	if (strcmp(chain, "prerouting") == 0) {
		fprintf(f, "\t\t%s @no_local%c drop\n", key, v);
		fprintf(f, "\t\t%s @node_port_no_local%c drop\n", key, v);
		fw_write_lb_filter(f, family);
		fprintf(f, "\t\t%s @external%c meta mark set meta mark | 0x%08x\n", key, v,
			FW_MASQ_MARK);
		fprintf(f, "\t\t%s @node_port%c meta mark set meta mark | 0x%08x\n", key, v,
			FW_MASQ_MARK);
		if (cfg->masquerade_all)
			fprintf(f, "\t\t%s @cluster_ip%c meta mark set meta mark | 0x%08x\n", key,
				v, FW_MASQ_MARK);
		else if (have_cidr)
			fprintf(f,
				"\t\t%s @cluster_ip%c %s saddr != @cluster_cidr%c meta mark set "
				"meta mark | 0x%08x\n",
				key, v, ip, v, FW_MASQ_MARK);
	} else if (strcmp(chain, "output") == 0) {
		fw_write_lb_filter(f, family); /* the node's own traffic keeps to the ranges too */
		fprintf(f, "\t\t%s daddr @vip%c meta mark set meta mark | 0x%08x\n", ip, v,
			FW_MASQ_MARK);
		fprintf(f, "\t\t%s @node_port%c meta mark set meta mark | 0x%08x\n", key, v,
			FW_MASQ_MARK);
		fprintf(f, "\t\t%s @node_port_local%c meta mark set meta mark | 0x%08x\n", key, v,
			FW_MASQ_MARK);
	} else if (strcmp(chain, "input") == 0) {
		fprintf(
		    f,
		    "\t\tct state new %s daddr @vip%c meta l4proto { tcp, udp, sctp } "
		    "%s != @cluster_ip%c %s != @external%c %s != @external_local%c "
		    "meta l4proto . th dport != @hc_node_port reject with %s port-unreachable\n",
		    ip, v, key, v, key, v, key, v, family == AF_INET6 ? "icmpv6" : "icmp");
	} else if (strcmp(chain, "postrouting") == 0) {
		fprintf(f,
			"\t\t%s daddr . meta l4proto . th dport . %s saddr @hairpin%c "
			"masquerade fully-random\n",
			ip, ip, v);
	}
}

/* The table block, without the comment line; malloc'd. */
static char *fw_base_text(const struct fw_config *cfg, const char *table)
{
	_cleanup_fclose_ FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0;
	static const struct {
		const char *name, *hook, *type, *prio;
	} chains[] = {
	    {"prerouting", "prerouting", "filter", "mangle"},
	    {"output", "output", "filter", "mangle"},
	    {"input", "input", "filter", "filter"},
	    {"forward", "forward", "filter", "filter"},
	    {"postrouting", "postrouting", "nat", "srcnat"},
	};

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "table inet %s {\n", table);
	for (int s = 0; s < _PLAN_FW_SET_MAX; s++) {
		for (int fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			bool interval;
			const char *key = fw_set_key((enum plan_fw_set)s, &interval);
			char name[64];

			if (fw_set_is_shared((enum plan_fw_set)s) && fam)
				continue;
			fw_set_name((enum plan_fw_set)s, family, name, sizeof(name));
			fprintf(f, "\tset %s {\n\t\ttype ", name);
			for (const char *k = key; *k; k++)
				if (*k == 'A')
					fputs(family == AF_INET6 ? "ipv6_addr" : "ipv4_addr", f);
				else
					fputc(*k, f);
			fprintf(f, "\n%s\t}\n", interval ? "\t\tflags interval\n" : "");
		}
	}
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		bool any = false;

		fprintf(f, "\tset cluster_cidr%c {\n\t\ttype %s\n\t\tflags interval\n",
			fam ? '6' : '4', fam ? "ipv6_addr" : "ipv4_addr");
		for (size_t i = 0; i < cfg->n_cluster_cidrs; i++) {
			char a[NET_ADDR_STRLEN];

			if (cfg->cluster_cidrs[i].addr.family != family)
				continue;
			fprintf(f, "%s%s/%u", any ? ", " : "\t\telements = { ",
				net_addr_format(&cfg->cluster_cidrs[i].addr, a),
				cfg->cluster_cidrs[i].len);
			any = true;
		}
		fprintf(f, "%s\t}\n", any ? " }\n" : "");
	}
	for (size_t c = 0; c < ARRAY_SIZE(chains); c++) {
		fprintf(f, "\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n",
			chains[c].name, chains[c].type, chains[c].hook, chains[c].prio);
		if (strcmp(chains[c].name, "forward") == 0)
			fprintf(f, "\t\tct state invalid drop\n");
		else if (strcmp(chains[c].name, "postrouting") == 0)
			fprintf(f, "\t\tmeta mark & 0x%08x == 0x%08x masquerade fully-random\n",
				FW_MASQ_MARK, FW_MASQ_MARK);
		fw_write_rules(f, cfg, AF_INET, chains[c].name);
		fw_write_rules(f, cfg, AF_INET6, chains[c].name);
		fprintf(f, "\t}\n");
	}
	fprintf(f, "}\n");
	if (fclose(f) != 0) {
		f = NULL;
		free(buf);
		return NULL;
	}
	f = NULL;
	return buf;
}

int fw_open(const struct fw_config *cfg, struct fw **ret_fw)
{
	struct fw *fw = calloc(1, sizeof(*fw));

	if (!fw)
		return -ENOMEM;
	fw->resync = true;
	fw->nft = fw_nft_new();
	fw->table = strdup(cfg->table ? cfg->table : FW_TABLE_DEFAULT);
	if (fw->table)
		fw->base = fw_base_text(cfg, fw->table);
	if (!fw->nft || !fw->table || !fw->base) {
		fw_free(fw);
		return -ENOMEM;
	}
	fw->fingerprint = fw_fnv1a(fw->base);
	*ret_fw = fw;
	return 0;
}

struct fw *fw_free(struct fw *fw)
{
	if (!fw)
		return NULL;
	if (fw->nft)
		nft_ctx_free(fw->nft);
	fw->nl = fw_netlink_free(fw->nl);
	plan_fw_clear(&fw->known);
	free(fw->table);
	free(fw->base);
	free(fw);
	return NULL;
}

/* `list table`, terse (no set elements) or full, into *ret_out; -ENOENT when absent. */
static int fw_table_list(struct fw *fw, bool terse, char **ret_out)
{
	_cleanup_free_ char *cmd = NULL;
	int r;

	if (asprintf(&cmd, "list table inet %s", fw->table) < 0) {
		cmd = NULL;
		return -ENOMEM;
	}
	if (terse)
		nft_ctx_output_set_flags(fw->nft, NFT_CTX_OUTPUT_TERSE);
	r = fw_run(fw->nft, cmd, ret_out, NULL, 0);
	if (terse)
		nft_ctx_output_set_flags(fw->nft, 0);
	return r;
}

static void fw_mark_format(const struct fw *fw, char *buf, size_t size)
{
	snprintf(buf, size, "kipvs base %016llx", (unsigned long long)fw->fingerprint);
}

/*
 * The transaction that (re)creates the table: a delete when it exists, the base block with its
 * fingerprint comment, then `extra` (may be NULL: element adds). malloc'd, or NULL.
 */
static char *fw_base_cmd(const struct fw *fw, bool exists, const char *extra)
{
	const char *brace = strchr(fw->base, '{');
	char mark[64], *buf = NULL;

	fw_mark_format(fw, mark, sizeof(mark));
	/* The comment goes in as the table block's first statement. */
	if (asprintf(&buf, "%s%s%s%.*s{\n\tcomment \"%s\"%s%s", exists ? "delete table inet " : "",
		     exists ? fw->table : "", exists ? "\n" : "", (int)(brace - fw->base), fw->base,
		     mark, brace + 1, extra ? extra : "") < 0)
		return NULL;
	return buf;
}

/* Records the structure's digest of a table that is kipvs's (just installed or checked). */
static void fw_digest_record(struct fw *fw)
{
	struct fw_netlink *nl;

	fw->digest_ok =
	    fw_nl(fw, &nl) == 0 && fw_netlink_structure_digest(nl, fw->table, &fw->digest) == 0;
}

int fw_base_ensure(struct fw *fw, char *err, size_t err_size)
{
	_cleanup_free_ char *buf = NULL;
	struct fw_netlink *nl;
	char mark[64], comment[128];
	bool exists;
	int r;

	/* Checked once; again only after a verification or a failed nftables operation. */
	if (fw->ensured)
		return 0;
	fw_mark_format(fw, mark, sizeof(mark));
	r = fw_nl(fw, &nl);
	if (r == 0)
		r = fw_netlink_table_comment(nl, fw->table, comment, sizeof(comment));
	if (r < 0 && r != -ENOENT) {
		if (err && err_size)
			snprintf(err, err_size, "get table inet %s: %s", fw->table, strerror(-r));
		return r;
	}
	exists = r == 0;
	if (exists && strcmp(comment, mark) == 0) {
		fw->installed = true;
		fw->ensured = true;
		return 0;
	}
	if (!(buf = fw_base_cmd(fw, exists, NULL)))
		return -ENOMEM;
	r = fw_run(fw->nft, buf, NULL, err, err_size);
	if (r < 0)
		return r;
	plan_fw_clear(&fw->known);
	fw->resync = true;
	fw->installed = true;
	fw->ensured = true;
	fw_digest_record(fw);
	return 1;
}

/* ---- Sync ---- */

/* Elements of a that are not in b (both sorted); -ENOMEM. */
static int fw_minus(const struct plan_fw *a, const struct plan_fw *b, struct plan_fw *ret)
{
	return plan_fw_diff(b, a, ret, NULL);
}

static int fw_union(const struct plan_fw *a, const struct plan_fw *b, struct plan_fw *ret)
{
	struct plan_fw only_b = {0};
	struct plan_fw u = {0};
	size_t i = 0, j = 0, k = 0;
	int r = fw_minus(b, a, &only_b);

	if (r < 0)
		return r;
	u.n_elems = a->n_elems + only_b.n_elems;
	u.elems = calloc(u.n_elems ? u.n_elems : 1, sizeof(*u.elems));
	if (!u.elems) {
		plan_fw_clear(&only_b);
		return -ENOMEM;
	}
	while (i < a->n_elems || j < only_b.n_elems) {
		if (j == only_b.n_elems ||
		    (i < a->n_elems && plan_fw_elem_compare(&a->elems[i], &only_b.elems[j]) < 0))
			u.elems[k++] = a->elems[i++];
		else
			u.elems[k++] = only_b.elems[j++];
	}
	plan_fw_clear(&only_b);
	*ret = u;
	return 0;
}

static int fw_copy(const struct plan_fw *a, struct plan_fw *ret)
{
	struct plan_fw none = {0};

	return plan_fw_diff(&none, a, ret, NULL);
}

/* The binary half of a sync: one op per set, its keys encoded (fw_key_encode()). */
struct fw_ops {
	struct fw_netlink_set_op op[4 * _PLAN_FW_SET_MAX];
	char name[4 * _PLAN_FW_SET_MAX][64];
	uint8_t *keys[4 * _PLAN_FW_SET_MAX];
	size_t n;
};

static void fw_ops_clear(struct fw_ops *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->keys[i]);
	o->n = 0;
}

/* A flush of every set that is not an interval set (those go as text). */
static void fw_ops_flush_all(struct fw_ops *o)
{
	for (int s = 0; s < _PLAN_FW_SET_MAX; s++)
		for (int fam = 0; fam < 2; fam++) {
			if ((fw_set_is_shared((enum plan_fw_set)s) && fam) ||
			    fw_set_is_interval((enum plan_fw_set)s))
				continue;
			fw_set_name((enum plan_fw_set)s, fam ? AF_INET6 : AF_INET, o->name[o->n],
				    sizeof(o->name[o->n]));
			o->op[o->n] =
			    (struct fw_netlink_set_op){.set = o->name[o->n], .flush = true};
			o->n++;
		}
}

/*
 * Appends one op per set of elems (sorted by set, then family) that is not an interval set;
 * returns how many elements it encoded, or -ENOMEM.
 */
static int fw_ops_add(struct fw_ops *o, const struct plan_fw *elems, bool del)
{
	int count = 0;

	for (size_t i = 0; i < elems->n_elems;) {
		const struct plan_fw_elem *first = &elems->elems[i];
		int family = fw_elem_family(first);
		size_t j = i, key_len = fw_key_len(first->set, family), n = 0;
		bool binary = !fw_set_is_interval(first->set);
		uint8_t *keys = NULL;

		while (j < elems->n_elems && elems->elems[j].set == first->set &&
		       (fw_set_is_shared(first->set) || fw_elem_family(&elems->elems[j]) == family))
			j++;
		if (!binary) {
			i = j;
			continue;
		}
		if (o->n == ARRAY_SIZE(o->op) || !(keys = calloc(j - i, key_len)))
			return -ENOMEM;
		for (size_t k = i; k < j; k++) {
			uint8_t key[FW_KEY_MAX];

			/* A key of the wrong length (a hairpin of two families) cannot be there. */
			if (fw_key_encode(&elems->elems[k], key) != key_len)
				continue;
			memcpy(keys + n++ * key_len, key, key_len);
		}
		fw_set_name(first->set, family, o->name[o->n], sizeof(o->name[o->n]));
		o->keys[o->n] = keys;
		o->op[o->n] = (struct fw_netlink_set_op){
		    .set = o->name[o->n], .del = del, .keys = keys, .n = n, .key_len = key_len};
		o->n++;
		count += (int)n;
		i = j;
	}
	return count;
}

/* The elements of interval sets only (written as libnftables text). */
static int fw_interval_only(const struct plan_fw *a, struct plan_fw *ret)
{
	struct plan_fw r = {0};

	r.elems = calloc(a->n_elems ? a->n_elems : 1, sizeof(*r.elems));
	if (!r.elems)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_elems; i++)
		if (fw_set_is_interval(a->elems[i].set))
			r.elems[r.n_elems++] = a->elems[i];
	*ret = r;
	return 0;
}

/*
 * Writes the text half of a sync (interval sets) into f and the binary half into o: flushes
 * when flush, then the adds and deletes. Returns how many elements were added (ret_added) and
 * deleted, 0, or -ENOMEM.
 */
static int fw_sync_write(struct fw *fw, FILE *f, struct fw_ops *o, bool flush,
			 const struct plan_fw *add, const struct plan_fw *del, unsigned *ret_added,
			 unsigned *ret_deleted)
{
	struct plan_fw add_text = {0}, del_text = {0};
	int a = 0, d = 0, r;

	if (flush) {
		fw_ops_flush_all(o);
		for (int s = 0; s < _PLAN_FW_SET_MAX; s++)
			for (int fam = 0; fam < 2; fam++) {
				char name[64];

				if (!fw_set_is_interval((enum plan_fw_set)s))
					continue;
				fw_set_name((enum plan_fw_set)s, fam ? AF_INET6 : AF_INET, name,
					    sizeof(name));
				fprintf(f, "flush set inet %s %s\n", fw->table, name);
			}
	}
	if ((add && (a = fw_ops_add(o, add, false)) < 0) ||
	    (del && (d = fw_ops_add(o, del, true)) < 0))
		return -ENOMEM;
	r = add ? fw_interval_only(add, &add_text) : 0;
	if (r == 0 && del)
		r = fw_interval_only(del, &del_text);
	if (r == 0) {
		*ret_added = (unsigned)a + fw_write_elements(f, "add", fw->table, &add_text);
		*ret_deleted = (unsigned)d + fw_write_elements(f, "delete", fw->table, &del_text);
	}
	plan_fw_clear(&add_text);
	plan_fw_clear(&del_text);
	return r;
}

static int fw_sync_once(struct fw *fw, const struct plan_fw *desired, enum fw_phase phase,
			struct fw_sync_result *res, char *err, size_t err_size)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *buf = NULL;
	struct plan_fw add = {0}, del = {0}, next = {0};
	struct fw_ops ops = {0};
	bool resync = fw->resync;
	struct fw_netlink *nl = NULL;
	size_t len = 0;
	int r;

	*res = (struct fw_sync_result){.resynced = resync};
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (resync) {
		r = fw_sync_write(fw, f, &ops, phase != FW_PHASE_ADD, desired, NULL, &res->added,
				  &res->deleted);
		if (r == 0 && phase != FW_PHASE_ADD)
			r = fw_copy(desired, &next);
	} else {
		r = plan_fw_diff(&fw->known, desired, phase == FW_PHASE_DELETE ? NULL : &add,
				 phase == FW_PHASE_ADD ? NULL : &del);
		if (r == 0)
			r = fw_sync_write(fw, f, &ops, false, &add, &del, &res->added,
					  &res->deleted);
		if (r == 0) {
			r = phase == FW_PHASE_DELETE ? fw_minus(&fw->known, &del, &next)
						     : fw_union(&fw->known, &add, &next);
			if (r == 0 && phase == FW_PHASE_ALL) {
				plan_fw_clear(&next);
				r = fw_copy(desired, &next);
			}
		}
	}
	plan_fw_clear(&add);
	plan_fw_clear(&del);
	if (r < 0) {
		fw_ops_clear(&ops);
		return r;
	}
	if (fclose(f) != 0) {
		f = NULL;
		fw_ops_clear(&ops);
		plan_fw_clear(&next);
		return -ENOMEM;
	}
	f = NULL;
	/* The binary batch (one transaction), then the interval sets' text (another). */
	if (ops.n > 0) {
		r = fw_nl(fw, &nl);
		if (r == 0)
			r = fw_netlink_batch(nl, fw->table, ops.op, ops.n, err, err_size);
		else if (err && err_size)
			snprintf(err, err_size, "netlink: %s", strerror(-r));
	}
	fw_ops_clear(&ops);
	if (r == 0 && len > 0)
		r = fw_run(fw->nft, buf, NULL, err, err_size);
	if (r < 0) {
		plan_fw_clear(&next);
		fw->resync = true;
		fw->ensured = false;
		return r;
	}
	if (resync && phase == FW_PHASE_ADD)
		return 0; /* the sets hold desired plus unknown leftovers: stay in resync */
	plan_fw_clear(&fw->known);
	fw->known = next;
	fw->resync = false;
	return 0;
}

int fw_sync(struct fw *fw, const struct plan_fw *desired, enum fw_phase phase,
	    struct fw_sync_result *ret_result, char *err, size_t err_size)
{
	struct fw_sync_result res;
	bool was_resync = fw->resync;
	int r = fw_sync_once(fw, desired, phase, &res, err, err_size);

	/* A diff that failed (someone deleted an element) is retried at once as a rewrite. */
	if (r < 0 && r != -ENOMEM && !was_resync)
		r = fw_sync_once(fw, desired, phase, &res, err, err_size);
	if (r == 0 && ret_result)
		*ret_result = res;
	return r;
}

/* ---- Verification ---- */

static int fw_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the elements listed in `out` (nft's text of one set), whitespace collapsed. */
static int fw_parse_elements(const char *out, char ***v, size_t *n, size_t *cap)
{
	const char *p = strstr(out, "elements = {");

	if (!p)
		return 0;
	p += strlen("elements = {");
	while (*p && *p != '}') {
		char tok[512];
		size_t t = 0;

		while (*p && *p != ',' && *p != '}') {
			bool space = *p == ' ' || *p == '\t' || *p == '\n';

			if (space) {
				if (t > 0 && tok[t - 1] != ' ' && t < sizeof(tok) - 1)
					tok[t++] = ' ';
			} else if (t < sizeof(tok) - 1) {
				tok[t++] = *p;
			}
			p++;
		}
		while (t > 0 && tok[t - 1] == ' ')
			t--;
		tok[t] = '\0';
		if (*p == ',')
			p++;
		if (t == 0)
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			char **nv = reallocarray(*v, nc, sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = nc;
		}
		if (!((*v)[*n] = strdup(tok)))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static void fw_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The element adds that refill kipvs's sets with what they hold now; "" when none. */
static int fw_current_elements(struct fw *fw, char **ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0;
	int r = 0;

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (int s = 0; r == 0 && s < _PLAN_FW_SET_MAX; s++)
		for (int fam = 0; r == 0 && fam < 2; fam++) {
			_cleanup_free_ char *cmd = NULL, *out = NULL;
			char **v = NULL, name[64];
			size_t n = 0, cap = 0;

			if (fw_set_is_shared((enum plan_fw_set)s) && fam)
				continue;
			fw_set_name((enum plan_fw_set)s, fam ? AF_INET6 : AF_INET, name,
				    sizeof(name));
			if (asprintf(&cmd, "list set inet %s %s", fw->table, name) < 0) {
				cmd = NULL;
				r = -ENOMEM;
				break;
			}
			r = fw_run(fw->nft, cmd, &out, NULL, 0);
			if (r == -ENOENT) { /* deleted by hand: the next sync refills it */
				r = 0;
				continue;
			}
			if (r == 0)
				r = fw_parse_elements(out, &v, &n, &cap);
			if (r == 0 && n > 0) {
				fprintf(f, "add element inet %s %s { ", fw->table, name);
				for (size_t k = 0; k < n; k++)
					fprintf(f, "%s%s", k ? ", " : "", v[k]);
				fprintf(f, " }\n");
			}
			fw_strv_free(v, n);
		}
	if (fclose(f) != 0)
		r = r < 0 ? r : -ENOMEM;
	f = NULL;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

/*
 * The structure half of fw_verify(): 0 when the table is as kipvs installs it, 1 when it
 * drifted and was reinstalled (logged), or -errno.
 */
static int fw_structure_check(struct fw *fw)
{
	_cleanup_free_ char *out = NULL, *elems = NULL, *buf = NULL;
	char what[512], q[600], err[512] = "";
	bool exists;
	int r;

	if (fw->structure_off)
		return 0;
	/* Unchanged since it was installed or last checked: no listing (it reads every element). */
	if (fw->digest_ok) {
		struct fw_netlink *nl;
		uint64_t d;

		if (fw_nl(fw, &nl) == 0 && fw_netlink_structure_digest(nl, fw->table, &d) == 0 &&
		    d == fw->digest)
			return 0;
		fw->digest_ok = false;
	}
	r = fw_table_list(fw, true, &out);
	if (r < 0 && r != -ENOENT)
		return r;
	exists = r == 0;
	/* Before the first sync there is nothing to compare: fw_base_ensure() creates it. */
	if (!exists && !fw->installed)
		return 0;
	if (exists) {
		r = fw_structure_diff(fw->base, out, what, sizeof(what));
		if (r == 0)
			fw_digest_record(fw);
		if (r <= 0)
			return r;
		r = fw_current_elements(fw, &elems);
		if (r < 0)
			return r;
	} else {
		snprintf(what, sizeof(what), "table absent");
	}
	log_warn("fw", "nftables table drifted from what kipvs installs; reinstalling it",
		 "table=%s drift=%s", fw->table, log_quote(q, sizeof(q), what));
	/* One transaction: delete, create, refill each set with what it held. */
	if (!(buf = fw_base_cmd(fw, exists, elems)))
		return -ENOMEM;
	r = fw_run(fw->nft, buf, NULL, err, sizeof(err));
	if (r < 0 && elems && *elems) {
		/* A set recreated by hand with another key cannot take its elements back. */
		free(buf);
		if (!(buf = fw_base_cmd(fw, exists, NULL)))
			return -ENOMEM;
		r = fw_run(fw->nft, buf, NULL, err, sizeof(err));
	}
	if (r < 0) {
		log_warn("fw", "nftables table reinstall failed", "table=%s detail=%s err=\"%s\"",
			 fw->table, log_quote(q, sizeof(q), err), strerror(-r));
		return r;
	}
	plan_fw_clear(&fw->known);
	fw->resync = true;
	/* A rule kipvs writes in another form than nft prints back would drift forever. */
	free(out);
	out = NULL;
	if (fw_table_list(fw, true, &out) == 0 &&
	    fw_structure_diff(fw->base, out, what, sizeof(what)) > 0) {
		log_error("fw",
			  "nftables table still differs after its reinstall; structure check off",
			  "table=%s drift=%s", fw->table, log_quote(q, sizeof(q), what));
		fw->structure_off = true;
	} else {
		fw_digest_record(fw);
	}
	return 1;
}

static int fw_keycmp(const void *a, const void *b, void *len)
{
	return memcmp(a, b, *(size_t *)len);
}

static bool fw_keys_are_sorted(const uint8_t *keys, size_t n, size_t key_len)
{
	for (size_t i = 1; i < n; i++)
		if (memcmp(keys + (i - 1) * key_len, keys + i * key_len, key_len) > 0)
			return false;
	return true;
}

/*
 * Reads set (set, family) back in binary and compares it with the elements of desired that
 * belong to it: 1 when equal, 0 when not, or -errno.
 */
static int fw_verify_set(struct fw *fw, struct fw_netlink *nl, enum plan_fw_set set, int family,
			 const struct plan_fw *desired)
{
	_cleanup_free_ uint8_t *got = NULL, *want = NULL;
	size_t key_len = fw_key_len(set, family), n_got = 0, n_want = 0, odd = 0;
	char name[64];
	int r;

	fw_set_name(set, family, name, sizeof(name));
	if ((r = fw_netlink_set_keys(nl, fw->table, name, key_len, &got, &n_got, &odd)) < 0)
		return r;
	want = calloc(desired->n_elems ? desired->n_elems : 1, key_len);
	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < desired->n_elems; i++) {
		const struct plan_fw_elem *e = &desired->elems[i];
		uint8_t key[FW_KEY_MAX];

		if (e->set > set)
			break; /* desired is sorted by set first */
		if (e->set != set || (!fw_set_is_shared(set) && fw_elem_family(e) != family))
			continue;
		if (fw_key_encode(e, key) == key_len)
			memcpy(want + n_want++ * key_len, key, key_len);
	}
	if (odd || n_got != n_want)
		return 0;
	if (n_got == 0)
		return 1; /* both empty (got is NULL then) */
	qsort_r(got, n_got, key_len, fw_keycmp, &key_len);
	if (!fw_keys_are_sorted(want, n_want, key_len)) /* plan order is key order but for hc */
		qsort_r(want, n_want, key_len, fw_keycmp, &key_len);
	return memcmp(got, want, n_got * key_len) == 0 ? 1 : 0;
}

/* The interval sets, as text through libnftables: 1 when they match, 0 when not, or -errno. */
static int fw_verify_interval(struct fw *fw, const struct plan_fw *desired)
{
	char **got = NULL, **want = NULL;
	size_t n_got = 0, cap_got = 0, n_want = 0;
	int r = 0;

	want = calloc(desired->n_elems ? desired->n_elems : 1, sizeof(*want));
	if (!want)
		return -ENOMEM;
	/* Per set: read it back, and list what it should hold, each tagged with the set's name. */
	for (int s = 0; r == 0 && s < _PLAN_FW_SET_MAX; s++)
		for (int fam = 0; r == 0 && fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			_cleanup_free_ char *cmd = NULL, *out = NULL;
			char name[64];
			size_t first = n_got;

			if (!fw_set_is_interval((enum plan_fw_set)s))
				continue;
			fw_set_name((enum plan_fw_set)s, family, name, sizeof(name));
			if (asprintf(&cmd, "list set inet %s %s", fw->table, name) < 0) {
				cmd = NULL;
				r = -ENOMEM;
				break;
			}
			if ((r = fw_run(fw->nft, cmd, &out, NULL, 0)) < 0)
				break;
			if ((r = fw_parse_elements(out, &got, &n_got, &cap_got)) < 0)
				break;
			for (size_t i = first; r == 0 && i < n_got; i++) {
				char *tagged = NULL;

				if (asprintf(&tagged, "%s %s", name, got[i]) < 0)
					r = -ENOMEM;
				else {
					free(got[i]);
					got[i] = tagged;
				}
			}
		}
	for (size_t i = 0; r == 0 && i < desired->n_elems; i++) {
		const struct plan_fw_elem *e = &desired->elems[i];
		char name[64], text[256];

		if (!fw_set_is_interval(e->set))
			continue;
		fw_set_name(e->set, fw_elem_family(e), name, sizeof(name));
		fw_elem_format(e, text, sizeof(text));
		if (asprintf(&want[n_want], "%s %s", name, text) < 0)
			r = -ENOMEM;
		else
			n_want++;
	}
	if (r == 0) {
		if (n_got)
			qsort(got, n_got, sizeof(*got), fw_strcmp);
		if (n_want)
			qsort(want, n_want, sizeof(*want), fw_strcmp);
		r = n_got == n_want ? 1 : 0;
		for (size_t i = 0; r == 1 && i < n_got; i++)
			if (strcmp(got[i], want[i]) != 0)
				r = 0;
	}
	fw_strv_free(got, n_got);
	fw_strv_free(want, n_want);
	return r;
}

int fw_verify(struct fw *fw, const struct plan_fw *desired)
{
	struct fw_netlink *nl;
	int drift, r;

	fw->ensured = false; /* the next sync checks the table's fingerprint again (cheap) */
	drift = fw_structure_check(fw);
	if (drift < 0)
		return drift;
	if ((r = fw_nl(fw, &nl)) < 0)
		return r;
	r = 1;
	for (int s = 0; r == 1 && s < _PLAN_FW_SET_MAX; s++)
		for (int fam = 0; r == 1 && fam < 2; fam++) {
			if ((fw_set_is_shared((enum plan_fw_set)s) && fam) ||
			    fw_set_is_interval((enum plan_fw_set)s))
				continue;
			r = fw_verify_set(fw, nl, (enum plan_fw_set)s, fam ? AF_INET6 : AF_INET,
					  desired);
		}
	if (r == 1)
		r = fw_verify_interval(fw, desired);
	if (r == 0)
		fw->resync = true;
	return r == 1 && drift > 0 ? 0 : r;
}

/* ---- Cleanup and the foreign-drop check ---- */

int fw_table_remove(const char *table, char *err, size_t err_size)
{
	_cleanup_free_ char *cmd = NULL;
	struct nft_ctx *nft = fw_nft_new();
	int r;

	if (!nft)
		return -ENOMEM;
	if (asprintf(&cmd, "delete table inet %s", table ? table : FW_TABLE_DEFAULT) < 0) {
		nft_ctx_free(nft);
		cmd = NULL;
		return -ENOMEM;
	}
	r = fw_run(nft, cmd, NULL, err, err_size);
	nft_ctx_free(nft);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : 1;
}

bool fw_forward_drop_is_present(struct fw *fw)
{
	struct fw_netlink *nl;
	bool found = false;

	/* Over netlink: `list ruleset` would read every set element of every table. */
	if (fw_nl(fw, &nl) < 0 || fw_netlink_forward_drop(nl, fw->table, &found) < 0)
		return false;
	return found;
}
