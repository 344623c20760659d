/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_json_split.c, the scanner that lets --from parse a JSON manifest one
 * list item at a time: where documents and items begin and end (strings holding braces,
 * brackets and escaped quotes, nesting, List or single object, several documents), and where
 * it stops on text that is not JSON (cut short, garbage between items, bad escapes and
 * numbers, nesting past cJSON's limit).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube_json_split.h"

/* The split as text: each document, or for one with an items array "items:" and its items. */
static void render(const char *text, const struct kube_json_split *split, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t d = 0; d < split->n_docs; d++) {
		const struct kube_json_doc *doc = &split->docs[d];

		n += (size_t)snprintf(out + n, size - n, "%s", d ? " ;; " : "");
		if (doc->items.len == 0) {
			n += (size_t)snprintf(out + n, size - n, "%.*s", (int)doc->span.len,
					      text + doc->span.off);
			continue;
		}
		/* The items array lies inside its document and every item inside the array. */
		assert_true(doc->items.off > doc->span.off);
		assert_true(doc->items.off + doc->items.len < doc->span.off + doc->span.len);
		assert_int_equal(text[doc->items.off], '[');
		assert_int_equal(text[doc->items.off + doc->items.len - 1], ']');
		n += (size_t)snprintf(out + n, size - n, "items:");
		for (size_t i = 0; i < doc->n_items; i++) {
			const struct kube_json_span *it = &split->items[doc->first_item + i];

			assert_true(it->off > doc->items.off);
			assert_true(it->off + it->len < doc->items.off + doc->items.len);
			n += (size_t)snprintf(out + n, size - n, "%s%.*s", i ? " | " : " ",
					      (int)it->len, text + it->off);
		}
	}
}

static void test_split(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		const char *want; /* render() of the split */
	} cases[] = {
		{"single object", "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}",
		 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}"},
		{"list of three", "{\"kind\":\"List\",\"items\":[{\"a\":1}, {\"b\":[2,3]} ,\n{}]}",
		 "items: {\"a\":1} | {\"b\":[2,3]} | {}"},
		{"items before kind, other members after",
		 " {\"items\":[{\"x\":{\"y\":{\"z\":[[]]}}}],\"kind\":\"ServiceList\",\"m\":{}} ",
		 "items: {\"x\":{\"y\":{\"z\":[[]]}}}"},
		{"strings with braces and brackets",
		 "{\"items\":[{\"a\":\"}{][\"},{\"b\":\"]\"}]}",
		 "items: {\"a\":\"}{][\"} | {\"b\":\"]\"}"},
		{"escaped quotes and backslashes",
		 "{\"items\":[{\"a\":\"x\\\"},{\"},{\"b\":\"\\\\\"},{\"c\":\"\\\\\\\"}\"}]}",
		 "items: {\"a\":\"x\\\"},{\"} | {\"b\":\"\\\\\"} | {\"c\":\"\\\\\\\"}\"}"},
		{"unicode escapes", "{\"items\":[\"\\u00e9}\",\"\\uD83D\\uDE00\"]}",
		 "items: \"\\u00e9}\" | \"\\uD83D\\uDE00\""},
		{"empty items", "{\"kind\":\"List\",\"items\":[ ]}", "items:"},
		{"items null", "{\"kind\":\"List\",\"items\":null}",
		 "{\"kind\":\"List\",\"items\":null}"},
		{"first items not an array", "{\"items\":\"x\",\"kind\":\"List\",\"items\":[1]}",
		 "{\"items\":\"x\",\"kind\":\"List\",\"items\":[1]}"},
		{"items only at the top", "{\"spec\":{\"items\":[1,2]}}", "{\"spec\":{\"items\":[1,2]}}"},
		{"items key escaped", "{\"\\u0069tems\":[1,2]}", "items: 1 | 2"},
		{"not items: a tab escape", "{\"i\\tems\":[1]}", "{\"i\\tems\":[1]}"},
		{"not items: a prefix", "{\"item\":[1],\"itemss\":[2]}", "{\"item\":[1],\"itemss\":[2]}"},
		{"top-level array is not a list", "[{\"items\":[1]}]", "[{\"items\":[1]}]"},
		{"two documents", "{\"a\":1}\n{\"items\":[true,false,null]}\n",
		 "{\"a\":1} ;; items: true | false | null"},
		{"documents back to back", "{}{}", "{} ;; {}"},
		{"scalars", "\"s\" -1.5e+3 0 null", "\"s\" ;; -1.5e+3 ;; 0 ;; null"},
		{"byte order mark", "\xef\xbb\xbf{\"items\":[{}]}", "items: {}"},
	};
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_json_split split = {0};
		size_t off = 12345;
		int r = kube_json_split_run(cases[i].text, strlen(cases[i].text), &split, &off);

		if (r != 0)
			fail_msg("case %s: %d at %zu", cases[i].name, r, off);
		render(cases[i].text, &split, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %s: got '%s', want '%s'", cases[i].name, out, cases[i].want);
		kube_json_split_clear(&split);
	}
}

static void test_split_errors(void **state)
{
	static const struct {
		const char *name;
		const char *text;
		const char *at; /* the text from the error on ("": the end) */
	} cases[] = {
		{"empty", "", ""},
		{"only whitespace", " \n\t", ""},
		{"truncated in an item", "{\"kind\":\"List\",\"items\":[{\"a\":1},{\"b\":", ""},
		{"truncated in a string", "{\"items\":[{\"a\":\"}]}", ""},
		{"truncated after the items", "{\"items\":[{}]", ""},
		{"garbage between items", "{\"items\":[{\"a\":1} x {\"b\":2}]}", "x {"},
		{"missing comma between items", "{\"items\":[{} {}]}", "{}]}"},
		{"garbage between documents", "{\"a\":1} x {\"b\":2}", "x {"},
		{"garbage after a document", "{\"a\":1}\n}", "}"},
		{"trailing comma", "{\"items\":[{},]}", "]}"},
		{"trailing comma in object", "{\"a\":1,}", "}"},
		{"missing colon", "{\"a\" 1}", "1}"},
		{"key not a string", "{a:1}", "a:1}"},
		{"bad escape", "{\"a\":\"\\x\"}", "x\"}"},
		{"short unicode escape", "{\"a\":\"\\u12g4\"}", "g4"},
		{"control character in a string", "{\"a\":\"x\ty\"}", "\ty"},
		{"leading zero", "[01]", "1]"},
		{"bare fraction", "[1.]", "]"},
		{"bare exponent", "[1e]", "]"},
		{"plus sign", "[+1]", "+1]"},
		{"bad literal", "[tru]", "]"},
		{"single quotes", "{'a':1}", "'a'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_json_split split = {0};
		size_t len = strlen(cases[i].text), off = 12345;
		int r = kube_json_split_run(cases[i].text, len, &split, &off);

		if (r != -EBADMSG)
			fail_msg("case %s: got %d, want -EBADMSG", cases[i].name, r);
		if (*cases[i].at ? off >= len || strncmp(cases[i].text + off, cases[i].at,
							 strlen(cases[i].at)) != 0
				 : off != len)
			fail_msg("case %s: error at %zu ('%s'), want at '%s'", cases[i].name, off,
				 off <= len ? cases[i].text + off : "?", cases[i].at);
		kube_json_split_clear(&split);
	}
}

/* cJSON parses 1000 nested containers and refuses 1001; the scanner draws the same line. */
static void test_split_depth(void **state)
{
	for (size_t depth = 999; depth <= 1001; depth++) {
		struct kube_json_split split = {0};
		char *text = malloc(2 * depth + 1);
		size_t off = 0;
		int r;

		assert_non_null(text);
		memset(text, '[', depth);
		memset(text + depth, ']', depth);
		r = kube_json_split_run(text, 2 * depth, &split, &off);
		if (r != (depth <= 1000 ? 0 : -EBADMSG))
			fail_msg("depth %zu: got %d", depth, r);
		kube_json_split_clear(&split);
		free(text);
	}
	(void)state;
}

/* A list large enough to grow the span arrays several times; every item found in order. */
static void test_split_many(void **state)
{
	const size_t n = 5000;
	char *text = malloc(32 * n + 64);
	struct kube_json_split split = {0};
	size_t len = 0;

	(void)state;
	assert_non_null(text);
	len += (size_t)sprintf(text, "{\"kind\":\"List\",\"items\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s{\"n\":%zu}", i ? "," : "", i);
	len += (size_t)sprintf(text + len, "]}");
	assert_int_equal(kube_json_split_run(text, len, &split, NULL), 0);
	assert_int_equal(split.n_docs, 1);
	assert_int_equal(split.docs[0].n_items, n);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		int w = sprintf(want, "{\"n\":%zu}", i);

		assert_int_equal(split.items[i].len, (size_t)w);
		assert_memory_equal(text + split.items[i].off, want, (size_t)w);
	}
	kube_json_split_clear(&split);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_split_depth),
		cmocka_unit_test(test_split_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
