/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fw_structure_diff() (ipvs/fw.h): compares the structure of two nftables table texts (what kipvs
 * installs and what `nft list table` prints): the chains with their hook lines and rules, the
 * sets with their declarations, the table's own flags; set elements, comments and handles left
 * out. Pure (no libnftables), so the unit test `fw_structure` covers it.
 */
#include "fw.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* One block of a table: "table" (its own lines), "set NAME" or "chain NAME", with its lines. */
struct fw_block {
	char *name;
	char **lines;
	size_t n_lines;
};

struct fw_blocks {
	struct fw_block *v;
	size_t n;
};

static void fw_blocks_clear(struct fw_blocks *b)
{
	for (size_t i = 0; i < b->n; i++) {
		for (size_t j = 0; j < b->v[i].n_lines; j++)
			free(b->v[i].lines[j]);
		free(b->v[i].lines);
		free(b->v[i].name);
	}
	free(b->v);
	*b = (struct fw_blocks){0};
}

static struct fw_block *fw_blocks_add(struct fw_blocks *b, const char *name, size_t len)
{
	struct fw_block *nv = reallocarray(b->v, b->n + 1, sizeof(*nv));

	if (!nv)
		return NULL;
	b->v = nv;
	nv = &b->v[b->n];
	*nv = (struct fw_block){.name = strndup(name, len)};
	if (!nv->name)
		return NULL;
	b->n++;
	return nv;
}

static int fw_block_line_add(struct fw_block *blk, const char *line)
{
	char **nv = reallocarray(blk->lines, blk->n_lines + 1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	blk->lines = nv;
	if (!(nv[blk->n_lines] = strdup(line)))
		return -ENOMEM;
	blk->n_lines++;
	return 0;
}

/*
 * One line, normalized into out: surrounding whitespace dropped, inner runs collapsed to one
 * space, and a trailing nft comment ("# handle 7", "# progname nft") cut.
 */
static void fw_line_normalize(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;
	bool quoted = false;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		char c = s[i];

		if (c == '"')
			quoted = !quoted;
		if (!quoted && c == '#')
			break;
		if (c == ' ' || c == '\t' || c == '\r') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			continue;
		}
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static bool fw_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Splits a table text into blocks. 0, or -ENOMEM. */
static int fw_blocks_parse(const char *text, struct fw_blocks *ret)
{
	struct fw_blocks b = {0};
	struct fw_block *cur = NULL;
	bool in_elements = false, in_table = false;
	char line[4096];

	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		fw_line_normalize(p, len, line, sizeof(line));
		p = eol ? eol + 1 : NULL;
		if (in_elements) {
			/* A multi-line element list ends with the line that closes it. */
			if (strchr(line, '}'))
				in_elements = false;
			continue;
		}
		if (line[0] == '\0')
			continue;
		if (fw_starts(line, "elements = {")) {
			in_elements = !strchr(line + strlen("elements = {"), '}');
			continue;
		}
		if (fw_starts(line, "table ")) {
			in_table = true;
			/* The table's own lines go to block 0. */
			if (b.n == 0 && !fw_blocks_add(&b, "table", 5))
				goto oom;
			continue;
		}
		if (!in_table)
			continue;
		if (strcmp(line, "}") == 0) {
			if (cur)
				cur = NULL;
			else
				in_table = false;
			continue;
		}
		if (!cur && (fw_starts(line, "set ") || fw_starts(line, "chain ") ||
			     fw_starts(line, "map "))) {
			size_t n = strlen(line);

			if (n > 2 && strcmp(line + n - 2, " {") == 0)
				n -= 2;
			if (!(cur = fw_blocks_add(&b, line, n)))
				goto oom;
			continue;
		}
		/* The table's comment carries kipvs's fingerprint, checked by fw_base_ensure(). */
		if (!cur && fw_starts(line, "comment "))
			continue;
		if (fw_block_line_add(cur ? cur : &b.v[0], line) < 0)
			goto oom;
	}
	*ret = b;
	return 0;
oom:
	fw_blocks_clear(&b);
	return -ENOMEM;
}

static const struct fw_block *fw_blocks_find(const struct fw_blocks *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, name) == 0)
			return &b->v[i];
	return NULL;
}

static bool fw_block_has(const struct fw_block *blk, const char *line)
{
	for (size_t i = 0; i < blk->n_lines; i++)
		if (strcmp(blk->lines[i], line) == 0)
			return true;
	return false;
}

/* Appends one drift, "A B", to what (separated by "; "), never past size. */
static void fw_what_add(char *what, size_t size, unsigned *n, const char *a, const char *b)
{
	size_t used = what && size ? strlen(what) : 0;

	(*n)++;
	if (!what || used + 1 >= size)
		return;
	(void)snprintf(what + used, size - used, "%s%s%s%s", used ? "; " : "", a, *b ? " " : "", b);
}

/* The lines of want missing from got (or the other way), the first one named. */
static void fw_block_compare(const struct fw_block *want, const struct fw_block *got, char *what,
			     size_t size, unsigned *n)
{
	const char *kind = fw_starts(want->name, "chain ") ? "rule" : "line";
	bool differs = want->n_lines != got->n_lines;
	char buf[160];

	for (size_t i = 0; !differs && i < want->n_lines; i++)
		differs = strcmp(want->lines[i], got->lines[i]) != 0;
	if (!differs)
		return;
	for (size_t i = 0; i < want->n_lines; i++)
		if (!fw_block_has(got, want->lines[i])) {
			snprintf(buf, sizeof(buf), "%s missing: %s", kind, want->lines[i]);
			fw_what_add(what, size, n, want->name, buf);
			return;
		}
	for (size_t i = 0; i < got->n_lines; i++)
		if (!fw_block_has(want, got->lines[i])) {
			snprintf(buf, sizeof(buf), "%s not kipvs's: %s", kind, got->lines[i]);
			fw_what_add(what, size, n, want->name, buf);
			return;
		}
	fw_what_add(what, size, n, want->name,
		    want->n_lines == got->n_lines ? "reordered" : "duplicated");
}

int fw_structure_diff(const char *want, const char *got, char *what, size_t what_size)
{
	_cleanup_(fw_blocks_clear) struct fw_blocks w = {0};
	_cleanup_(fw_blocks_clear) struct fw_blocks g = {0};
	unsigned n = 0;

	if (what && what_size)
		what[0] = '\0';
	if (fw_blocks_parse(want, &w) < 0 || fw_blocks_parse(got, &g) < 0)
		return -ENOMEM;
	if (!fw_blocks_find(&g, "table")) {
		fw_what_add(what, what_size, &n, "table", "absent");
		return (int)n;
	}
	for (size_t i = 0; i < w.n; i++) {
		const struct fw_block *o = fw_blocks_find(&g, w.v[i].name);

		if (!o)
			fw_what_add(what, what_size, &n, w.v[i].name, "missing");
		else
			fw_block_compare(&w.v[i], o, what, what_size, &n);
	}
	for (size_t i = 0; i < g.n; i++)
		if (!fw_blocks_find(&w, g.v[i].name))
			fw_what_add(what, what_size, &n, g.v[i].name, "not kipvs's");
	return (int)n;
}
