/*
 * Requests from CGI-style parameters, and their bodies.
 *
 * The body is read through the reader in chunks into a heap buffer that starts small and
 * doubles, never beyond max+1 bytes: CONTENT_LENGTH sizes only the first allocation (and
 * at most 64 KiB of it), so a client that claims 2 GiB costs nothing until it sends it.
 * The finished buffer is handed to the arena with a deferred wipe-and-free, because
 * bodies carry passwords.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/request.h"
#include "util/json.h"
#include "util/rand.h"
#include "util/secure.h"
#include "util/strnum.h"
#include "util/timeutil.h"

/* The largest first allocation CONTENT_LENGTH may cause, and the one without it. */
#define BODY_HINT_MAX ((size_t)64 * 1024)
#define BODY_HINT_DEFAULT ((size_t)4096)

static const char *const method_names[HTTP_METHOD__MAX] = {
	[HTTP_GET] = "GET",
	[HTTP_HEAD] = "HEAD",
	[HTTP_POST] = "POST",
	[HTTP_PUT] = "PUT",
	[HTTP_PATCH] = "PATCH",
	[HTTP_DELETE] = "DELETE",
	[HTTP_OPTIONS] = "OPTIONS",
	[HTTP_OTHER] = "OTHER",
};

enum http_method
http_method_parse(const char *name)
{
	/* Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method. */
	for (int m = 0; name != NULL && m < HTTP_OTHER; m++) {
		if (strcmp(name, method_names[m]) == 0)
			return (enum http_method)m;
	}
	return HTTP_OTHER;
}

const char *
http_method_name(enum http_method m)
{
	return (unsigned)m < HTTP_METHOD__MAX ? method_names[m] : "OTHER";
}

const char *
request_param(const struct request *req, const char *name)
{
	size_t len = strlen(name);

	if (req->envp == NULL)
		return NULL;
	for (char *const *e = req->envp; *e != NULL; e++) {
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	}
	return NULL;
}

/* ASCII only, whatever the locale. */
static bool
ascii_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Returns the value of "VAR=value" when VAR is header name as CGI spells it (upper case,
 * '-' as '_', after prefix), or NULL.
 */
static const char *
header_value(const char *var, const char *prefix, const char *name)
{
	size_t plen = strlen(prefix), i;

	if (strncmp(var, prefix, plen) != 0)
		return NULL;
	var += plen;
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '-')
			c = '_';
		else if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		else if (!ascii_alnum(c))
			return NULL;	/* not a header name we can map */
		if ((unsigned char)var[i] != c)
			return NULL;
	}
	return i > 0 && var[i] == '=' ? var + i + 1 : NULL;
}

const char *
request_header(const struct request *req, const char *name)
{
	/* CGI passes these two without the HTTP_ prefix (RFC 3875 §4.1.2, §4.1.3). */
	const char *prefix = strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "Content-Length") == 0 ? "" : "HTTP_";

	if (req->envp == NULL)
		return NULL;
	for (char *const *e = req->envp; *e != NULL; e++) {
		const char *v = header_value(*e, prefix, name);

		if (v != NULL)
			return v;
	}
	return NULL;
}

const char *
request_route_param(const struct request *req, const char *name)
{
	for (size_t i = 0; i < req->nparams; i++) {
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	}
	return NULL;
}

/* Copies id into out[REQUEST_ID_MAX + 1] if it is 1..REQUEST_ID_MAX of [A-Za-z0-9._-]. */
static bool
request_id_copy(char *out, const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		unsigned char c = (unsigned char)id[i];

		if (i == REQUEST_ID_MAX || !(ascii_alnum(c) || c == '.' || c == '_' || c == '-'))
			return false;
		out[i] = (char)c;
	}
	out[i] = '\0';
	return i > 0;
}

static const char *
param_copy(struct request *req, const char *name)
{
	const char *v = request_param(req, name);

	return arena_strdup(req->arena, v != NULL ? v : "");
}

/*
 * Parses X-Request-Start into microseconds since the epoch: "t=1733212345.123",
 * "t=1733212345123456" or "t=1733212345123" (whole numbers by their size). 0 when absent
 * or malformed: such a request is never shed.
 */
static int64_t
request_start_us(const char *v)
{
	int64_t whole = 0, frac = 0, scale = 1000000;
	int digits = 0;

	if (v == NULL || strncmp(v, "t=", 2) != 0)
		return 0;
	for (v += 2; *v >= '0' && *v <= '9'; v++, digits++) {
		if (digits >= 17)
			return 0;
		whole = whole * 10 + (*v - '0');
	}
	if (digits == 0)
		return 0;
	if (*v == '.') {
		for (v++; *v >= '0' && *v <= '9'; v++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*v - '0') * scale;
			}
		}
		return *v == '\0' && digits <= 10 ? whole * 1000000 + frac : 0;
	}
	if (*v != '\0')
		return 0;
	if (digits >= 16)
		return whole;		/* microseconds */
	if (digits >= 13)
		return whole * 1000;	/* milliseconds */
	return digits <= 10 ? whole * 1000000 : 0;
}

enum pb_err
request_init(struct request *req, struct arena *a, char *const *envp, request_reader reader,
    void *reader_ctx)
{
	const char *method, *uri, *q, *id;
	int64_t received, now;

	*req = (struct request){
		.arena = a,
		.envp = envp,
		.reader = reader,
		.reader_ctx = reader_ctx,
		.start_us = time_mono_us(),
	};

	/* The id and the strings are set even for a request refused below, to answer it. */
	id = request_param(req, "HTTP_X_REQUEST_ID");
	if (id == NULL || !request_id_copy(req->request_id, id)) {
		enum pb_err err = rand_hex(req->request_id, 16);

		if (err != PB_OK)
			return err;
	}
	received = request_start_us(request_param(req, "HTTP_X_REQUEST_START"));
	now = time_real_us();
	if (received > 0 && now > received)
		req->queued_us = now - received;
	method = request_param(req, "REQUEST_METHOD");
	uri = request_param(req, "REQUEST_URI");
	if (uri == NULL || uri[0] != '/')
		uri = "";
	q = strchr(uri, '?');
	req->method = http_method_parse(method);
	req->method_name = arena_strdup(a, method != NULL ? method : "");
	req->path = arena_strndup(a, uri, q != NULL ? (size_t)(q - uri) : strlen(uri));
	/* REQUEST_URI is what the client sent; QUERY_STRING only when it has no '?'. */
	req->query = q != NULL ? arena_strdup(a, q + 1) : param_copy(req, "QUERY_STRING");
	req->content_type = param_copy(req, "CONTENT_TYPE");
	req->remote_addr = param_copy(req, "REMOTE_ADDR");
	if (req->method_name == NULL || req->path == NULL || req->query == NULL ||
	    req->content_type == NULL || req->remote_addr == NULL)
		return PB_ENOMEM;
	if (req->method_name[0] == '\0' || req->path[0] != '/')
		return PB_EINVAL;
	return PB_OK;
}

struct body_mem {
	char *p;
	size_t len;
};

static void
body_free(void *arg)
{
	struct body_mem *m = arg;

	secure_wipe(m->p, m->len);
	free(m->p);
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * Moves the first len bytes of p (of cap+1 bytes) to a new buffer of newcap+1 bytes.
 * Not realloc: the old block is wiped before it is freed, since a body may hold a
 * password. NULL on ENOMEM, with p untouched.
 */
static char *
grow(char *p, size_t len, size_t cap, size_t newcap)
{
	char *np = malloc(newcap + 1);

	if (np == NULL)
		return NULL;
	/* The check wants C11 Annex K, which glibc lacks; len <= cap < newcap. */
	/* NOLINTNEXTLINE(clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling) */
	memcpy(np, p, len);
	secure_wipe(p, cap + 1);
	free(p);
	return np;
}

enum pb_err
request_read_body(struct request *req, size_t max)
{
	const char *cl = request_param(req, "CONTENT_LENGTH");
	struct body_mem *mem;
	long long declared = -1;
	size_t cap, len = 0, limit;
	char *p, *np;
	ssize_t got;
	enum pb_err err;

	if (req->body != NULL)
		return PB_OK;
	/* nginx's stock fastcgi_params sends CONTENT_LENGTH empty when there is no body. */
	if (cl != NULL && cl[0] != '\0' &&
	    strnum_parse(cl, 10, 0, INT64_MAX, &declared) != PB_OK)
		return PB_EINVAL;
	if (max > SIZE_MAX - 2)
		max = SIZE_MAX - 2;
	if (declared >= 0 && (unsigned long long)declared > max)
		return PB_ETOOBIG;
	/* One byte past max is read to tell "exactly max" from "more". */
	limit = max + 1;
	cap = declared >= 0 ? (size_t)declared : BODY_HINT_DEFAULT;
	cap = min_size(min_size(cap, BODY_HINT_MAX), limit);
	p = malloc(cap + 1);
	if (p == NULL)
		return PB_ENOMEM;
	while (req->reader != NULL) {
		if (len == cap) {
			if (cap == limit) {
				err = PB_ETOOBIG;
				goto fail;
			}
			size_t newcap = cap > limit / 2 ? limit : (cap < 64 ? 64 : cap * 2);

			newcap = min_size(newcap, limit);
			np = grow(p, len, cap, newcap);
			if (np == NULL) {
				err = PB_ENOMEM;
				goto fail;
			}
			p = np;
			cap = newcap;
		}
		got = req->reader(req->reader_ctx, p + len, cap - len);
		if (got == 0)
			break;
		/* A failed read leaves the body incomplete, as a short one would. */
		if (got < 0 || (size_t)got > cap - len) {
			err = PB_EINVAL;
			goto fail;
		}
		len += (size_t)got;
		if (len > max) {
			err = PB_ETOOBIG;
			goto fail;
		}
	}
	if (declared >= 0 && (unsigned long long)declared != len) {
		err = PB_EINVAL;
		goto fail;
	}
	p[len] = '\0';
	mem = arena_alloc(req->arena, sizeof(*mem));
	if (mem == NULL) {
		err = PB_ENOMEM;
		goto fail;
	}
	mem->p = p;
	mem->len = cap + 1;
	err = arena_defer(req->arena, body_free, mem);
	if (err != PB_OK)
		return err;	/* body_free has run */
	req->body = p;
	req->body_len = len;
	return PB_OK;
fail:
	secure_wipe(p, cap + 1);
	free(p);
	return err;
}

/* Compares s[0..n) with the C string lit, ignoring ASCII case. */
static bool
token_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Narrows [*start, *end) of s to leave out spaces and tabs at both ends. */
static void
trim(const char *s, size_t *start, size_t *end)
{
	while (*start < *end && (s[*start] == ' ' || s[*start] == '\t'))
		(*start)++;
	while (*end > *start && (s[*end - 1] == ' ' || s[*end - 1] == '\t'))
		(*end)--;
}

enum body_type {
	BODY_NONE,
	BODY_JSON,
	BODY_FORM,
};

/*
 * Reads the media type of a Content-Type value, case-insensitively, with parameters
 * allowed; a charset, if any, must be UTF-8 (possibly quoted). PB_EMEDIA otherwise.
 */
static enum pb_err
media_type(const char *ct, enum body_type *type)
{
	size_t len = strlen(ct), start = 0, end = strcspn(ct, ";"), eq, vs, ve;

	trim(ct, &start, &end);
	if (end == start)
		*type = BODY_NONE;
	else if (token_eq(ct + start, end - start, "application/json"))
		*type = BODY_JSON;
	else if (token_eq(ct + start, end - start, "application/x-www-form-urlencoded"))
		*type = BODY_FORM;
	else
		return PB_EMEDIA;
	end = strcspn(ct, ";");
	if (*type == BODY_NONE && end < len)
		return PB_EMEDIA;	/* parameters without a type */
	/* Each parameter: from after a ';' to the next one or the end. */
	while (end < len) {
		start = end + 1;
		end = start + strcspn(ct + start, ";");
		eq = start + strcspn(ct + start, "=");
		if (eq >= end)
			continue;	/* not name=value: nothing we act on */
		vs = eq + 1;
		ve = end;
		trim(ct, &start, &eq);
		if (!token_eq(ct + start, eq - start, "charset"))
			continue;
		trim(ct, &vs, &ve);
		if (ve - vs >= 2 && ct[vs] == '"' && ct[ve - 1] == '"') {
			vs++;
			ve--;
		}
		if (!token_eq(ct + vs, ve - vs, "utf-8"))
			return PB_EMEDIA;
	}
	return PB_OK;
}

/*
 * True when a JSON text holds the escape \u0000. Handlers read strings as C strings, so a
 * NUL inside one would cut it short without anyone noticing. The text was validated by
 * the parser, so every backslash is inside a string and starts an escape.
 */
static bool
json_has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++;
	}
	return false;
}

static void
json_put(void *p)
{
	json_object_put(p);
}

enum pb_err
request_decode_body(struct request *req, size_t max, int max_depth)
{
	struct json_object *obj = NULL;
	enum body_type type;
	struct form form;
	char why[JSON_WHY_MAX];
	enum pb_err err;

	if (req->json != NULL)
		return PB_OK;
	/* The type is checked first: no point reading a body we would refuse. */
	err = media_type(req->content_type, &type);
	if (err == PB_OK)
		err = request_read_body(req, max);
	if (err != PB_OK)
		return err;
	switch (type) {
	case BODY_NONE:
		if (req->body_len != 0)
			return PB_EMEDIA;
		obj = json_object_new_object();
		if (obj == NULL)
			return PB_ENOMEM;
		break;
	case BODY_JSON:
		err = json_parse_why(req->body, req->body_len, max_depth, &obj, why, sizeof(why));
		if (err == PB_EINVAL && why[0] != '\0')
			req->body_problem = arena_printf(req->arena, "%s in the JSON body", why);
		if (err != PB_OK)
			return err;
		if (!json_object_is_type(obj, json_type_object) ||
		    json_has_nul_escape(req->body, req->body_len)) {
			json_object_put(obj);
			return PB_EINVAL;
		}
		break;
	case BODY_FORM:
		err = form_parse(req->arena, req->body, req->body_len, &form);
		if (err == PB_OK)
			err = form_to_json(req->arena, &form, max_depth, &obj);
		if (err != PB_OK)
			return err;
		break;
	}
	err = arena_defer(req->arena, json_put, obj);
	if (err != PB_OK)
		return err;	/* the object was put */
	req->json = obj;
	return PB_OK;
}

enum pb_err
request_query(struct request *req, struct form *out)
{
	return form_parse(req->arena, req->query, strlen(req->query), out);
}
