/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logfmt writer. The only global state besides the event loop (style.md §6): the verbosity
 * and the output stream, both set once at start or by tests.
 */
#include "log.h"

#include <stdarg.h>
#include <string.h>

static int log_verbosity;
static FILE *log_stream;

const char *log_level_to_string(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return "error";
	case LOG_LEVEL_WARN:
		return "warn";
	case LOG_LEVEL_INFO:
		return "info";
	case LOG_LEVEL_DEBUG:
		return "debug";
	case _LOG_LEVEL_MAX:
		break;
	}
	return "unknown";
}

void log_set_verbosity(int verbosity)
{
	log_verbosity = verbosity;
}

void log_set_stream(FILE *stream)
{
	log_stream = stream;
}

bool log_is_enabled(enum log_level level)
{
	if (level == LOG_LEVEL_DEBUG)
		return log_verbosity > 0;
	return true;
}

static bool log_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s; s++)
		if (*s == ' ' || *s == '"' || *s == '=' || *s == '\\' || (unsigned char)*s < 0x20)
			return true;
	return false;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
	size_t n = 0;

	if (size == 0)
		return buf;
	if (!s)
		s = "";
	if (!log_needs_quotes(s)) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
	/* Leave room for the closing quote and the terminator. */
	if (size < 3) {
		buf[0] = '\0';
		return buf;
	}
	buf[n++] = '"';
	for (; *s && n + 3 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else if (c < 0x20) {
			buf[n++] = '?';
		} else {
			buf[n++] = (char)c;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

void log_write(enum log_level level, const char *component, const char *msg, const char *fields,
	       ...)
{
	FILE *out = log_stream ? log_stream : stderr;
	char quoted[512];
	char line[4096];
	int n;

	if (!log_is_enabled(level))
		return;
	n = snprintf(line, sizeof(line) - 1, "level=%s component=%s msg=%s", log_level_to_string(level),
		     component, log_quote(quoted, sizeof(quoted), msg));
	if (n < 0)
		return;
	if (fields && *fields && (size_t)n + 2 < sizeof(line)) {
		va_list ap;

		line[n++] = ' ';
		va_start(ap, fields);
		(void)vsnprintf(line + n, sizeof(line) - 1 - (size_t)n, fields, ap);
		va_end(ap);
	}
	/* The formats above leave one byte for the newline; one fputs keeps the line whole. */
	n = (int)strlen(line);
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, out);
	fflush(out);
}
