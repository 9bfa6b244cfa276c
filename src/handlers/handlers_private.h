/*
 * Internals shared by the files of src/handlers, not part of any public contract: reading
 * a JSON (or form) body against an allow-list, wiping a password member, the user's JSON
 * shape and the session answer (signup and login), and the 503 that stands for "accounts
 * are not configured" (the account routes and the dispatcher's authentication).
 *
 * A user in JSON: {"id":1,"name":"…","email":"…","role":"user","stripeCustomerId":null,
 * "isEmailVerified":false,"createdAt":"2025-01-01T00:00:00.000000Z"} (UTC).
 */
#ifndef PB_HANDLERS_PRIVATE_H
#define PB_HANDLERS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "http/response.h"

struct account;
struct accounts_session;
struct payment_problem;
struct sub_view;
struct request;

/* Most offending members one error lists, so a hostile body cannot inflate the answer. */
#define HANDLERS_FIELDS_MAX 16

/*
 * Reads the members of body named in allowed[0..n), the first nrequired of them required:
 * values[i] and lens[i] receive member allowed[i] when it is a string (borrowed from
 * body), else NULL and 0. Each required member that is missing, each member present that
 * is not a string (null included), and each member not allowed, gets a message in
 * *fields (a new object made on first use, at most HANDLERS_FIELDS_MAX members; the
 * caller puts it). Returns how many problems there were.
 */
size_t handlers_body_fields(struct json_object *body, const char *const *allowed, size_t n,
    size_t nrequired, const char **values, size_t *lens, struct json_object **fields);

/* Lists: ?limit= (1..HANDLERS_PAGE_MAX, default HANDLERS_PAGE_DEFAULT) &startingAfter=. */
#define HANDLERS_PAGE_DEFAULT 20
#define HANDLERS_PAGE_MAX 100
#define HANDLERS_CURSOR_MESSAGE "must be the nextCursor of the previous page"

/* Adds v under k, taking v; false (v put) when v is NULL or the add fails. */
bool handlers_json_add(struct json_object *o, const char *k, struct json_object *v);
/* Adds s under k (null for NULL). */
bool handlers_json_add_str(struct json_object *o, const char *k, const char *s);
bool handlers_json_add_int(struct json_object *o, const char *k, int64_t v);
/* Adds a time (microseconds since the epoch) as ISO 8601 UTC, null for 0. */
bool handlers_json_add_time(struct json_object *o, const char *k, int64_t real_us);

/* The {id} of the route as a positive integer, 0 when it is not one. */
uint64_t handlers_route_id(const struct request *req);

/*
 * Reads member name of body as a JSON integer (not 2.0, not "2") from min to max into
 * *value. A missing member is fine unless required. false with a message in *fields
 * when not.
 */
bool handlers_int_member(struct json_object *body, const char *name, bool required,
    int64_t min, int64_t max, int64_t *value, struct json_object **fields);

/*
 * Reads a list's ?limit and ?startingAfter (borrowed from the request; NULL when absent).
 * PB_EFIELDS with the reasons in *fields when they are malformed.
 */
enum pb_err handlers_page(struct request *req, size_t *limit, const char **after,
    struct json_object **fields);

/* handlers_page for lists whose cursor is a numeric id (*after 0: from the start). */
enum pb_err handlers_page_id(struct request *req, size_t *limit, uint64_t *after,
    struct json_object **fields);

/* handlers_page for lists whose cursor is a Stripe id (the id each item shows). */
enum pb_err handlers_page_stripe(struct request *req, size_t *limit, const char **after,
    struct json_object **fields);

/* The JSON of one item of a list (a new object), NULL when out of memory. */
typedef struct json_object *(*handlers_item_json)(const void *item);

/*
 * Answers handlers_answer_page with item() of each of the n items (size bytes apart)
 * that start at items.
 */
enum pb_err handlers_answer_items(struct response *resp, const void *items, size_t n,
    size_t size, handlers_item_json item, bool more, const char *next);

/*
 * Answers 200 {items, hasMore, nextCursor}: nextCursor is next (the last item's id, to
 * pass as startingAfter) when more remain, else null. Takes items.
 */
enum pb_err handlers_answer_page(struct response *resp, struct json_object *items, bool more,
    const char *next);

/* Answers 422 invalid_fields with fields (taken). */
enum pb_err handlers_answer_fields(struct response *resp, struct json_object *fields);

/* Adds name: message to *fields (made on first use). false when out of memory. */
bool handlers_field_error(struct json_object **fields, const char *name, const char *message);

/*
 * Answers a failure a payments-like service explained in why (services/payments.h): the
 * field's 422, or why->code with the error's status (503 when Stripe is away). Other
 * errors are returned for the dispatcher to answer.
 */
enum pb_err handlers_answer_problem(struct response *resp, enum pb_err err,
    const struct payment_problem *why);

/*
 * Adds to *fields a message for every member of body not in allowed[0..n) (amount and
 * currency: decided by the server).
 */
void handlers_only_members(struct json_object *body, const char *const *allowed, size_t n,
    struct json_object **fields);

/*
 * The caller's current subscription as GET /v1/users/me shows it: {id, status, product:
 * {id, name}, currentPeriodEnd}. NULL when out of memory.
 */
struct json_object *handlers_subscription_summary_json(const struct sub_view *v);

/* Overwrites the string member key of body (a password) with zeros, if it is one. */
void handlers_wipe_member(struct json_object *body, const char *key);

/* Returns a new JSON object for u (the caller puts it), or NULL when out of memory. */
struct json_object *handlers_user_json_new(const struct account *u);

/* Answers status with {"user": u, ...the members of data}. Takes data (may be NULL). */
enum pb_err handlers_answer_user(struct response *resp, int status, const struct account *u,
    struct json_object *data);

/* Answers status with {access_token, token_type: "Bearer", expires_in, user} for s. */
enum pb_err handlers_answer_session(struct response *resp, int status,
    const struct accounts_session *s);

/* Answers 429 too_many_requests with Retry-After: the login throttle refused. */
enum pb_err handlers_answer_throttled(struct response *resp, int64_t retry_after_s);

/* Answers 503 service_unavailable: jwt_secret is not configured. */
enum pb_err handlers_accounts_unavailable(struct response *resp);

#endif
