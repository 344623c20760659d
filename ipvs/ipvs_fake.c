/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake IPVS kernel for unit tests of the reconciler: it keeps a table, answers each operation
 * the way ip_vs_ctl.c does (EEXIST, ESRCH, ENOENT) and records every operation in order, so a
 * test can assert the exact sequence. Never used as proof that the kernel side works.
 */
#include "ipvs_internal.h"

#include <errno.h>
#include <string.h>

static int ipvs_fake_do(struct ipvs_table *t, const struct ipvs_op *op)
{
	struct ipvs_vs *vs = ipvs_table_find(t, &op->svc.key);

	switch (op->kind) {
	case IPVS_OP_SERVICE_ADD:
		if (vs)
			return -EEXIST;
		return ipvs_table_put(t, &op->svc) ? 0 : -ENOMEM;
	case IPVS_OP_SERVICE_SET:
		if (!vs)
			return -ESRCH;
		vs->svc = op->svc;
		return 0;
	case IPVS_OP_SERVICE_DEL:
		if (!vs)
			return -ESRCH;
		ipvs_table_del(t, &op->svc.key);
		return 0;
	case IPVS_OP_DEST_ADD:
		if (!vs)
			return -ESRCH;
		if (ipvs_vs_find_rs(vs, &op->dest.key))
			return -EEXIST;
		return ipvs_vs_put_rs(vs, &op->dest) ? 0 : -ENOMEM;
	case IPVS_OP_DEST_SET:
		if (!vs)
			return -ESRCH;
		if (!ipvs_vs_find_rs(vs, &op->dest.key))
			return -ENOENT;
		/* Like the kernel, a SET keeps the connection counters. */
		ipvs_vs_find_rs(vs, &op->dest.key)->dest = op->dest;
		return 0;
	case IPVS_OP_DEST_DEL:
		if (!vs)
			return -ESRCH;
		if (!ipvs_vs_find_rs(vs, &op->dest.key))
			return -ENOENT;
		ipvs_vs_del_rs(vs, &op->dest.key);
		return 0;
	case _IPVS_OP_KIND_MAX:
		break;
	}
	return -EINVAL;
}

static int ipvs_fake_apply(void *impl, struct ipvs_op *ops, size_t n_ops, unsigned *ret_batches)
{
	struct ipvs_fake *fake = impl;

	fake->n_apply++;
	if (ret_batches && n_ops > 0)
		(*ret_batches)++;
	for (size_t i = 0; i < n_ops; i++) {
		if (fake->fail_at >= 0 && (size_t)fake->fail_at == fake->log.n)
			ops[i].err = fake->fail_err;
		else
			ops[i].err = ipvs_fake_do(&fake->table, &ops[i]);
		if (ipvs_oplist_append(&fake->log, &ops[i]) < 0)
			return -ENOMEM;
	}
	if (fake->lose_replies) {
		fake->lose_replies = false;
		for (size_t i = 0; i < n_ops; i++)
			ops[i].err = 0;
		return -ENOBUFS;
	}
	return 0;
}

static int ipvs_fake_read(void *impl, struct ipvs_table *ret_table)
{
	struct ipvs_fake *fake = impl;

	fake->n_read_all++;
	return ipvs_table_copy(&fake->table, ret_table);
}

static int ipvs_fake_read_one(void *impl, const struct ipvs_key *key, struct ipvs_table *ret_table)
{
	struct ipvs_fake *fake = impl;
	struct ipvs_vs *vs = ipvs_table_find(&fake->table, key), *copy;
	struct ipvs_rs *rs, *tmp;

	fake->n_read_one++;
	if (!vs)
		return -ESRCH;
	copy = ipvs_table_put(ret_table, &vs->svc);
	if (!copy)
		return -ENOMEM;
	HASH_ITER(hh, vs->rs, rs, tmp)
	{
		struct ipvs_rs *c = ipvs_vs_put_rs(copy, &rs->dest);

		if (!c)
			return -ENOMEM;
		c->state = rs->state;
	}
	return 0;
}

static int ipvs_fake_read_services(void *impl, struct ipvs_table *ret_table)
{
	struct ipvs_fake *fake = impl;
	struct ipvs_vs *vs, *tmp;

	HASH_ITER(hh, fake->table.vs, vs, tmp)
	{
		struct ipvs_vs *copy = ipvs_table_put(ret_table, &vs->svc);

		if (!copy)
			return -ENOMEM;
		copy->stats = vs->stats;
	}
	return 0;
}

const struct ipvs_ops ipvs_fake_ops = {
    .apply = ipvs_fake_apply,
    .read = ipvs_fake_read,
    .read_one = ipvs_fake_read_one,
    .read_services = ipvs_fake_read_services,
};

void ipvs_fake_init(struct ipvs_fake *fake)
{
	memset(fake, 0, sizeof(*fake));
	fake->fail_at = -1;
}

void ipvs_fake_clear(struct ipvs_fake *fake)
{
	if (!fake)
		return;
	ipvs_table_clear(&fake->table);
	ipvs_oplist_clear(&fake->log);
}
