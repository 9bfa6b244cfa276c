#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "repo/db.h"
#include "repo/idempotency.h"
#include "services/app.h"
#include "services/idempotency.h"
#include "util/conf.h"
#include "util/digest.h"
#include "util/timeutil.h"

/* An in-flight key older than this belongs to a worker that died or was killed. */
#define IN_FLIGHT_SLACK_S 5

bool
idem_key_ok(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return false;
	return true;
}

/* op_key for a caller's key: 32 hex digits of SHA-256 over the user id and the key. */
static enum pb_err
derive_op_key(uint64_t user_id, const char *key, char out[IDEM_OP_KEY_MAX])
{
	char user[24], hex[DIGEST_HEX_LEN];
	struct digest_part parts[3];
	int n;
	enum pb_err err;

	n = snprintf(user, sizeof(user), "%" PRIu64, user_id);
	if (n < 0 || (size_t)n >= sizeof(user))
		return PB_ENOMEM;
	parts[0] = (struct digest_part){ user, (size_t)n };
	parts[1] = (struct digest_part){ "\n", 1 };
	parts[2] = (struct digest_part){ key, strlen(key) };
	err = digest_sha256_hex(parts, 3, hex);
	if (err != PB_OK)
		return err;
	n = snprintf(out, IDEM_OP_KEY_MAX, "k%.32s", hex);
	return n < 0 || n >= IDEM_OP_KEY_MAX ? PB_ENOMEM : PB_OK;
}

/* What a row read back means for this request. */
static enum idem_start
judge(const struct app *app, const struct idem_row *row, const char *hash, bool *restart)
{
	int64_t now = time_real_us();
	int64_t age_s = (now - row->created_at) / 1000000;

	*restart = false;
	if (age_s >= IDEM_TTL_S) {
		*restart = true;	/* expired, not pruned yet: a new key */
		return IDEM_RUN;
	}
	if (row->request_hash == NULL || strcmp(row->request_hash, hash) != 0)
		return IDEM_REUSED;
	if (row->status != 0)
		return IDEM_REPLAY;
	if (age_s > app->conf->request_timeout + IN_FLIGHT_SLACK_S) {
		*restart = true;	/* its worker is gone: nobody will finish it */
		return IDEM_RUN;
	}
	return IDEM_IN_USE;
}

enum pb_err
idem_begin(struct app *app, struct arena *a, uint64_t user_id, const char *key,
    const char *request_id, const char *method, const char *path, const char *body,
    size_t len, struct idem *out, enum idem_start *start)
{
	char hash[DIGEST_HEX_LEN];
	struct idem_row row;
	bool restart, taken;
	enum pb_err err;
	int n;

	memset(out, 0, sizeof(*out));
	*start = IDEM_RUN;
	if (key == NULL) {
		n = snprintf(out->op_key, sizeof(out->op_key), "r%s", request_id);
		return n < 0 || (size_t)n >= sizeof(out->op_key) ? PB_ENOMEM : PB_OK;
	}
	if (!idem_key_ok(key))
		return PB_EINVAL;
	err = derive_op_key(user_id, key, out->op_key);
	if (err != PB_OK)
		return err;
	{
		const struct digest_part parts[] = {
			{ method, strlen(method) }, { "\n", 1 }, { path, strlen(path) }, { "\n", 1 },
			{ body != NULL ? body : "", body != NULL ? len : 0 },
		};

		err = digest_sha256_hex(parts, sizeof(parts) / sizeof(parts[0]), hash);
		if (err != PB_OK)
			return err;
	}
	/* Two rounds: a row deleted or restarted between our insert and our read. */
	for (int round = 0; round < 2; round++) {
		err = repo_idem_insert(app->db, user_id, key, hash, &out->row_id);
		if (err != PB_ECONFLICT)
			return err;
		err = repo_idem_get(app->db, a, user_id, key, &row);
		if (err == PB_ENOTFOUND)
			continue;
		if (err != PB_OK)
			return err;
		*start = judge(app, &row, hash, &restart);
		if (*start == IDEM_REPLAY) {
			out->replay_status = row.status;
			out->replay_body = row.body != NULL ? row.body : "";
			out->replay_len = row.body != NULL ? row.body_len : 0;
			return PB_OK;
		}
		if (!restart)
			return PB_OK;
		err = repo_idem_restart(app->db, row.id, row.created_at, hash, &taken);
		if (err != PB_OK)
			return err;
		if (taken) {
			out->row_id = row.id;
			return PB_OK;
		}
		*start = IDEM_IN_USE;	/* another repeat restarted it first */
	}
	return *start == IDEM_RUN ? PB_EDEADLOCK : PB_OK;
}

enum pb_err
idem_finish(struct app *app, const struct idem *idem, int status, const char *body, size_t len)
{
	enum pb_err err;

	if (idem->row_id == 0)
		return PB_OK;
	/*
	 * Settling the key runs without a database seat: a request shed because no seat was
	 * free would otherwise leave its key in flight for request_timeout, and every repeat
	 * would be told 409 idempotency_key_in_use meanwhile. One short statement past the
	 * cap is cheaper than that.
	 */
	db_waive_seats(app->db, true);
	if (status >= 500)
		err = repo_idem_delete(app->db, idem->row_id);
	else
		err = repo_idem_complete(app->db, idem->row_id, status, body, len);
	db_waive_seats(app->db, false);
	return err;
}

enum pb_err
idem_prune(struct app *app, uint64_t limit, uint64_t *deleted)
{
	return repo_idem_prune(app->db, time_real_us() - (int64_t)IDEM_TTL_S * 1000000, limit,
	    deleted);
}
