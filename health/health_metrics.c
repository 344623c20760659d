/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small Prometheus registry: counter, gauge and histogram families with label sets, and
 * their rendering in the text exposition format 0.0.4 (HELP/TYPE lines, escaped label values,
 * histogram buckets with +Inf, _sum and _count). Series live in a uthash table per family.
 */
#include "health_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "cleanup.h"

struct health_series {
	UT_hash_handle hh;
	char *key; /* the label values, each followed by '\0' */
	size_t key_len;
	char *values[HEALTH_METRIC_LABELS_MAX]; /* point into key */
	double value;
	uint64_t u64;
	bool is_u64;
	uint64_t *bucket_counts; /* histograms: per bucket, not cumulative */
	uint64_t count;
	double sum;
};

struct health_metric {
	struct health_metric *next;
	char *name;
	char *help;
	enum health_metric_type type;
	char *labels[HEALTH_METRIC_LABELS_MAX];
	size_t n_labels;
	double *buckets;
	size_t n_buckets;
	struct health_series *series;
};

struct health_metrics {
	struct health_metric *head;
	struct health_metric *tail;
};

const char *health_metric_type_to_string(enum health_metric_type type)
{
	switch (type) {
	case HEALTH_METRIC_COUNTER:
		return "counter";
	case HEALTH_METRIC_GAUGE:
		return "gauge";
	case HEALTH_METRIC_HISTOGRAM:
		return "histogram";
	case _HEALTH_METRIC_TYPE_MAX:
		break;
	}
	return "untyped";
}

struct health_metrics *health_metrics_new(void)
{
	return calloc(1, sizeof(struct health_metrics));
}

static struct health_series *health_series_free(struct health_series *s)
{
	if (!s)
		return NULL;
	free(s->key);
	free(s->bucket_counts);
	free(s);
	return NULL;
}

void health_metric_clear(struct health_metric *m)
{
	struct health_series *s, *tmp;

	HASH_ITER(hh, m->series, s, tmp)
	{
		if (m->n_labels == 0) {
			/* The one series of an unlabelled family stays, reset. */
			s->value = 0;
			s->u64 = 0;
			s->sum = 0;
			s->count = 0;
			if (s->bucket_counts)
				memset(s->bucket_counts, 0,
				       m->n_buckets * sizeof(*s->bucket_counts));
			continue;
		}
		HASH_DEL(m->series, s);
		health_series_free(s);
	}
}

static struct health_metric *health_metric_free(struct health_metric *m)
{
	struct health_series *s, *tmp;

	if (!m)
		return NULL;
	HASH_ITER(hh, m->series, s, tmp)
	{
		HASH_DEL(m->series, s);
		health_series_free(s);
	}
	free(m->name);
	free(m->help);
	for (size_t i = 0; i < m->n_labels; i++)
		free(m->labels[i]);
	free(m->buckets);
	free(m);
	return NULL;
}

struct health_metrics *health_metrics_free(struct health_metrics *reg)
{
	if (!reg)
		return NULL;
	while (reg->head) {
		struct health_metric *next = reg->head->next;

		health_metric_free(reg->head);
		reg->head = next;
	}
	free(reg);
	return NULL;
}

/* Finds or creates the series for label_values. NULL on ENOMEM. */
static struct health_series *health_series_get(struct health_metric *m,
					       const char *const *label_values)
{
	struct health_series *s;
	size_t key_len = 0, off = 0;
	_cleanup_free_ char *key = NULL;

	for (size_t i = 0; i < m->n_labels; i++)
		key_len += strlen(label_values[i] ? label_values[i] : "") + 1;
	key = malloc(key_len ? key_len : 1);
	if (!key)
		return NULL;
	for (size_t i = 0; i < m->n_labels; i++) {
		const char *v = label_values[i] ? label_values[i] : "";
		size_t len = strlen(v) + 1;

		memcpy(key + off, v, len);
		off += len;
	}
	HASH_FIND(hh, m->series, key, key_len, s);
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (m->type == HEALTH_METRIC_HISTOGRAM && m->n_buckets > 0) {
		s->bucket_counts = calloc(m->n_buckets, sizeof(*s->bucket_counts));
		if (!s->bucket_counts)
			return health_series_free(s);
	}
	s->key = TAKE_PTR(key);
	s->key_len = key_len;
	off = 0;
	for (size_t i = 0; i < m->n_labels; i++) {
		s->values[i] = s->key + off;
		off += strlen(s->values[i]) + 1;
	}
	HASH_ADD_KEYPTR(hh, m->series, s->key, s->key_len, s);
	return s;
}

struct health_metric *health_metrics_add(struct health_metrics *reg, const char *name,
					 const char *help, enum health_metric_type type,
					 const char *const *label_names, const double *buckets,
					 size_t n_buckets)
{
	struct health_metric *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->type = type;
	m->name = strdup(name);
	m->help = strdup(help);
	if (!m->name || !m->help)
		return health_metric_free(m);
	for (; label_names && label_names[m->n_labels]; m->n_labels++) {
		if (m->n_labels == HEALTH_METRIC_LABELS_MAX)
			return health_metric_free(m);
		m->labels[m->n_labels] = strdup(label_names[m->n_labels]);
		if (!m->labels[m->n_labels])
			return health_metric_free(m);
	}
	if (type == HEALTH_METRIC_HISTOGRAM && n_buckets > 0) {
		m->buckets = calloc(n_buckets, sizeof(*m->buckets));
		if (!m->buckets)
			return health_metric_free(m);
		memcpy(m->buckets, buckets, n_buckets * sizeof(*buckets));
		m->n_buckets = n_buckets;
	}
	if (m->n_labels == 0 && !health_series_get(m, NULL))
		return health_metric_free(m);
	if (reg->tail)
		reg->tail->next = m;
	else
		reg->head = m;
	reg->tail = m;
	return m;
}

/*
 * The series of label_values in m, made on first use, for an update that needs a histogram
 * (histogram) or a counter or gauge (!histogram): 0 and *ret_s, -EINVAL for the other type,
 * -ENOMEM.
 */
static int health_series_for_update(struct health_metric *m, const char *const *label_values,
				    bool histogram, struct health_series **ret_s)
{
	struct health_series *s;

	if ((m->type == HEALTH_METRIC_HISTOGRAM) != histogram)
		return -EINVAL;
	s = health_series_get(m, label_values);
	if (!s)
		return -ENOMEM;
	*ret_s = s;
	return 0;
}

int health_metric_set(struct health_metric *m, const char *const *label_values, double v)
{
	struct health_series *s;
	int r = health_series_for_update(m, label_values, false, &s);

	if (r < 0)
		return r;
	s->value = v;
	s->is_u64 = false;
	return 0;
}

int health_metric_add(struct health_metric *m, const char *const *label_values, double delta)
{
	struct health_series *s;
	int r = health_series_for_update(m, label_values, false, &s);

	if (r < 0)
		return r;
	if (s->is_u64) {
		s->value = (double)s->u64;
		s->is_u64 = false;
	}
	s->value += delta;
	return 0;
}

int health_metric_set_u64(struct health_metric *m, const char *const *label_values, uint64_t v)
{
	struct health_series *s;
	int r = health_series_for_update(m, label_values, false, &s);

	if (r < 0)
		return r;
	s->u64 = v;
	s->is_u64 = true;
	return 0;
}

int health_metric_observe(struct health_metric *m, const char *const *label_values, double v)
{
	struct health_series *s;
	int r = health_series_for_update(m, label_values, true, &s);

	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_buckets; i++)
		if (v <= m->buckets[i]) {
			s->bucket_counts[i]++;
			break;
		}
	s->count++;
	s->sum += v;
	return 0;
}

const char *health_metrics_format_value(double v, char *buf, size_t size)
{
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		/* Integral values (counts, seconds since the epoch) print without an exponent. */
		snprintf(buf, size, "%.0f", v);
	} else {
		/* The shortest form that reads back as the same double, as Go's 'g' -1. */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, size, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	return buf;
}

/* Writes s escaped for a label value (\\, \" and \n) or, when help, for a HELP line. */
static void health_metrics_put_escaped(FILE *out, const char *s, bool help)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '"' && !help)
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* name{labels[,le="x"]} or name when there is nothing to put in braces. */
static void health_metrics_put_name(FILE *out, const struct health_metric *m,
				    const struct health_series *s, const char *suffix,
				    const char *le)
{
	fprintf(out, "%s%s", m->name, suffix);
	if (m->n_labels == 0 && !le)
		return;
	fputc('{', out);
	for (size_t i = 0; i < m->n_labels; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", m->labels[i]);
		health_metrics_put_escaped(out, s->values[i], false);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", m->n_labels ? "," : "", le);
	fputc('}', out);
}

static int health_series_cmp(const void *a, const void *b)
{
	const struct health_series *x = *(const struct health_series *const *)a;
	const struct health_series *y = *(const struct health_series *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static void health_metric_render_series(FILE *out, const struct health_metric *m,
					const struct health_series *s)
{
	char num[64];
	uint64_t cum = 0;

	if (m->type != HEALTH_METRIC_HISTOGRAM) {
		health_metrics_put_name(out, m, s, "", NULL);
		if (s->is_u64)
			fprintf(out, " %" PRIu64 "\n", s->u64);
		else
			fprintf(out, " %s\n",
				health_metrics_format_value(s->value, num, sizeof(num)));
		return;
	}
	for (size_t i = 0; i < m->n_buckets; i++) {
		cum += s->bucket_counts[i];
		health_metrics_put_name(
		    out, m, s, "_bucket",
		    health_metrics_format_value(m->buckets[i], num, sizeof(num)));
		fprintf(out, " %" PRIu64 "\n", cum);
	}
	health_metrics_put_name(out, m, s, "_bucket", "+Inf");
	fprintf(out, " %" PRIu64 "\n", s->count);
	health_metrics_put_name(out, m, s, "_sum", NULL);
	fprintf(out, " %s\n", health_metrics_format_value(s->sum, num, sizeof(num)));
	health_metrics_put_name(out, m, s, "_count", NULL);
	fprintf(out, " %" PRIu64 "\n", s->count);
}

int health_metrics_render(const struct health_metrics *reg, FILE *out)
{
	for (const struct health_metric *m = reg->head; m; m = m->next) {
		_cleanup_free_ struct health_series **sorted = NULL;
		size_t n = HASH_COUNT(m->series), i = 0;
		struct health_series *s, *tmp;

		if (n == 0)
			continue;
		sorted = calloc(n, sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		HASH_ITER(hh, m->series, s, tmp)
		sorted[i++] = s;
		qsort(sorted, n, sizeof(*sorted), health_series_cmp);
		fprintf(out, "# HELP %s ", m->name);
		health_metrics_put_escaped(out, m->help, true);
		fprintf(out, "\n# TYPE %s %s\n", m->name, health_metric_type_to_string(m->type));
		for (i = 0; i < n; i++)
			health_metric_render_series(out, m, sorted[i]);
	}
	return ferror(out) ? -EIO : 0;
}
