/*
 * log (internal): the commit log under _log/, snapshots of the catalog (tables, columns,
 * parts) at a version, checkpoints, and the commit protocol with conflict checks. log.c opens
 * with the state diagram and the invariants; docs/FORMAT.md has the byte layout. Sits above
 * part (a snapshot refers to part metadata) and below table/scan/api.
 */
#ifndef ES_LOG_H
#define ES_LOG_H

#include "table/part.h"

/** Log format of entries and checkpoints without set_dv actions, and of the hint. */
#define ES_LOG_FORMAT 1
/** Format of entries and checkpoints that hold set_dv actions: readers that only know format 1
 * refuse them (ES_UNSUPPORTED) instead of returning deleted rows. Readers accept both. */
#define ES_LOG_FORMAT_DV 2
/** Format 3: entries and checkpoints that hold an action introduced with it (add_inline: rows
 * inlined in the log; vacuum: a horizon; manifest; alter_table, column defaults and part
 * column types). Older readers refuse them (ES_UNSUPPORTED) instead of
 * misreading them (readers of formats 1 and 2 would not check horizons when they commit).
 * Checkpoints that name manifests (manifest.c) are format 3 too. Readers accept formats 1
 * to 3. */
#define ES_LOG_FORMAT_3 3
#define ES_LOG_FORMAT_INLINE ES_LOG_FORMAT_3
#define ES_LOG_FORMAT_VACUUM ES_LOG_FORMAT_3
#define ES_LOG_FORMAT_MANIFEST ES_LOG_FORMAT_3
#define ES_LOG_FORMAT_ALTER ES_LOG_FORMAT_3
/** Format 4: entries that hold an add_inline in its short form ("fields" and "batch": the
 * stream without its Schema message, docs/FORMAT.md section 3); everything of format 3 may be
 * in them too. Readers accept formats 1 to 4; readers of format 3 refuse them. */
#define ES_LOG_FORMAT_4 4
/** Longest initial default of a column, in bytes of its binary encoding. */
#define ES_DEFAULT_MAX 1024
/** A checkpoint is written after a version that is a multiple of this, unless every entry
 * since the previous multiple only added inline parts (small inserts): then only after a
 * multiple of ES_CHECKPOINT_SPARSE, so that a checkpoint, which carries every inlined row,
 * does not outweigh the entries (docs/FORMAT.md, section 4). */
#define ES_CHECKPOINT_INTERVAL 10
#define ES_CHECKPOINT_SPARSE 100
/** A checkpoint is not put later than this after its writer started it (it is skipped then):
 * vacuum keeps every manifest while a checkpoint due at a version committed less than this
 * before its horizon is missing, since it may still appear naming them (vacuum.c). */
#define ES_CHECKPOINT_LATE_MS 10000
/** Bounded retries of a commit that keeps losing the race. */
#define ES_COMMIT_MAX_ATTEMPTS 1000

/** A column of a table. */
typedef struct es_column {
    int64_t id; /* never reused within a table; physical name c<id> */
    char *name;
    char format[80];
    es_type type;
    int nullable;
    /* Initial default (alter.c): the value the column has in parts written before it was added,
     * and in inserted rows that omit it; binary-encoded as statistics are (FORMAT.md, section
     * 2). def == NULL: none (NULL). Owned by the column. */
    uint8_t *def;
    int64_t def_len;
} es_column;

/** A manifest object named by a checkpoint (manifest.c, docs/FORMAT.md section 4a): up to
 * ES_MANIFEST_PARTS parts of one table with their statistics and live deletion vectors.
 * Immutable and shared by reference count; `parts` is filled once, when first loaded. */
typedef struct es_mfref {
    long refs;
    char id[ES_ID_LEN + 1];
    char table_id[ES_ID_LEN + 1];
    int level;     /* 0: a manifest of parts; 1: a manifest list (of level-0 manifests) */
    int64_t bytes; /* size of the object */
    uint32_t crc;  /* CRC-32C of the whole object */
    int64_t n_parts, live_rows; /* of every part it holds (a list: through its manifests) */
    int64_t inline_rows;        /* live rows of the inline parts among them (add_inline) */
    int64_t inline_bytes;       /* and their streams' sizes, as their writer counted them */
    int64_t n_children;         /* a list: its manifests */
    es_part_meta *sum;          /* summary: rows and data_bytes summed, per column the union of the
                                   parts' statistics (columns every part has); id = the manifest's */
    es_part_meta **parts;       /* level 0: n_parts, NULL until decoded */
    struct es_mfref **children; /* level 1: n_children, NULL until decoded */
} es_mfref;

/** A manifest of a table: loaded when its parts are in the table's `parts` (a list: when its
 * manifests are in the table's `mf`). */
typedef struct es_tabledef_mf {
    es_mfref *ref;
    int loaded;
} es_tabledef_mf;

/** Format of entries and checkpoints that hold index actions (create_index, drop_index,
 * add_index): readers of formats 1 and 2 refuse them. */
#define ES_LOG_FORMAT_INDEX ES_LOG_FORMAT_3

/** One index object: the index of one part (index.c, docs/FORMAT.md section 2b). */
typedef struct es_index_cov {
    char part[ES_ID_LEN + 1];
    char obj[ES_ID_LEN + 1]; /* object key table_<t>/table_<t>_part_<part>_<obj>.six */
    int64_t bytes, entries;
    int64_t lookup_off, lookup_len; /* the lookup table's range in the object */
    uint32_t lookup_crc;            /* CRC-32C of that range */
} es_index_cov;

/** A secondary index of a table and the parts it covers (immutable once published in a
 * snapshot; shared by reference count, copy on write). */
typedef struct es_index_def {
    long refs;
    char *name; /* unique among the store's indexes */
    char id[ES_ID_LEN + 1];
    int64_t col_id;
    int unique;
    int64_t n_cov, cap_cov;
    es_index_cov *cov; /* in the order added; entries of removed parts are ignored */
} es_index_def;

es_status es_index_def_new(es_index_def **out, const char *name);
es_index_def *es_index_def_ref(es_index_def *d);
void es_index_def_unref(es_index_def *d);
/** The coverage entry of part `part`, or NULL. */
const es_index_cov *es_index_def_find(const es_index_def *d, const char *part);

/* Index actions in the catalog (index.c), for log.c: apply one to table t (exclusively
 * owned), check one against snapshot s as es_log_check does, drop the coverage of a removed
 * part, and the checkpoint's actions (one create_index per index, carrying its coverage; with
 * out NULL only counted). */
struct es_tabledef;
struct es_action;
struct es_snapshot;
es_status es_index_apply(struct es_tabledef *t, const struct es_action *a, const char *name,
                         es_error *err);
es_status es_index_check(const struct es_snapshot *s, const struct es_action *actions, int64_t k,
                         es_status code, es_error *err);
es_status es_index_part_removed(struct es_tabledef *t, const char *part);
int64_t es_index_checkpoint_actions(struct es_action *out, const struct es_tabledef *t);

/** A table at some version. Shared between snapshots by reference count; treat as immutable
 * once published in a snapshot (copy on write). */
typedef struct es_tabledef {
    long refs;
    char *name;
    char id[ES_ID_LEN + 1];
    int64_t n_cols;
    es_column *cols;
    int64_t pk; /* index in cols, or -1 */
    int64_t next_col_id;
    int64_t n_parts, cap_parts;
    es_part_meta **parts;
    int64_t rows, bytes; /* totals over parts: live rows (deleted ones left out), .data bytes */
    /* Manifests of the checkpoint the table was loaded from (manifest.c). `parts` holds the
     * parts of the loaded ones and the parts no manifest holds; the parts of a manifest not yet
     * loaded are counted in rows and bytes but not listed: es_manifest_load lists them. */
    int64_t n_mf;
    es_tabledef_mf *mf;
    int64_t n_indexes;
    es_index_def **indexes; /* secondary indexes (index.c), referenced */
} es_tabledef;

es_status es_tabledef_new(es_tabledef **out);
es_tabledef *es_tabledef_ref(es_tabledef *t);
void es_tabledef_unref(es_tabledef *t);
/** Copy column src into *dst (name and default duplicated); ES_NOMEM. */
es_status es_column_copy(es_column *dst, const es_column *src);
/** Free what a column owns (name, default). */
void es_column_reset(es_column *c);
/** Deep enough copy to modify: columns copied, parts referenced. */
es_status es_tabledef_copy(es_tabledef **out, const es_tabledef *src);
int64_t es_tabledef_col_index(const es_tabledef *t, const char *name);
/** The part of t with id `id` among those listed (a manifest not loaded is not read), or NULL. */
const es_part_meta *es_tabledef_find_part(const es_tabledef *t, const char *id);
/** Forget t's manifests (t a private copy): a scan of t then reads the parts t lists and loads no
 * manifest (whose parts it would read too). */
void es_tabledef_drop_manifests(es_tabledef *t);

/** The catalog at one version. */
typedef struct es_snapshot {
    int64_t version;
    int64_t n_tables, cap_tables;
    es_tabledef **tables;
    /** Damage found just after `version` (log.c, invariant 8): code ES_CORRUPT with a one-line
     * message naming the object when entry version + 1 is missing although a later entry or
     * checkpoint exists, or is there but cannot be read or applied; code ES_OK otherwise.
     * es_log_load, es_log_sync and es_log_refresh set and clear it; reads go on at `version`,
     * es_log_commit refuses to run while it is set. */
    es_error damage;
    /** The version _last_checkpoint named when the snapshot was loaded, or -1: proof that
     * versions up to it were committed, even if every later object is gone. */
    int64_t hint;
    /** The latest version whose entry did more than add inline parts (small inserts), or the
     * version of the checkpoint the snapshot was loaded from: the checkpoint cadence
     * (es_log_wants_checkpoint). */
    int64_t last_change;
    /** Hash chain: the CRC-32C trailer of entry `version` (has_crc 1), which the next entry
     * names as "prev"; has_crc 0 when unknown (loaded from a checkpoint, version 0 of an old
     * store), then a writer GETs the entry to learn it. */
    int has_crc;
    uint32_t crc;
    /** The object store the snapshot was loaded from (borrowed), for manifests loaded when an
     * entry acts on a part they hold; NULL when it has none. */
    es_objstore *os;
    /** The checkpoint the manifests of the tables come from (loaded or written; -1: a
     * checkpoint put lost to another's, so they are named by none), and whether a vacuum
     * entry applied since retained no version down to it (mf_stale): then the manifests
     * may have been collected, and the next checkpoint must not name them (vacuum.c). */
    int64_t mf_base;
    int mf_stale;
    /** When (monotonic ms, es_log_end_known) a commit through this snapshot last created the
     * entry of the next version (its put-if-absent succeeded, so that version was the end of the
     * log); 0 never. Copies keep it; reads (es_log_refresh) leave it. */
    int64_t end_ms;
    /** The latest version known durable through this snapshot (-1: none): one it committed
     * (its put returned), or the one it made durable (es_objstore_sync) before committing
     * after it. A local store on ext4 lets others read an entry before its writer's fsync
     * has returned (es_os_create_linked); es_log_commit syncs the entry it builds on first,
     * so that a durable entry never follows one a crash loses. Copies keep it. */
    int64_t synced;
} es_snapshot;

es_status es_snapshot_new(es_snapshot **out);
void es_snapshot_free(es_snapshot *s);
es_status es_snapshot_copy(es_snapshot **out, const es_snapshot *src);
es_tabledef *es_snapshot_find(const es_snapshot *s, const char *name);
es_tabledef *es_snapshot_find_id(const es_snapshot *s, const char *id);

typedef enum es_action_kind {
    ES_ACT_CREATE_TABLE = 0,
    ES_ACT_DROP_TABLE,
    ES_ACT_ADD_PART,
    ES_ACT_REMOVE_PART,
    ES_ACT_SET_DV,      /* the part's live deletion vector becomes `dv` (cumulative: replaces it) */
    ES_ACT_VACUUM,      /* a vacuum's horizon (vacuum.c): writers that read before it abort */
    ES_ACT_MANIFEST,    /* checkpoints only: the table holds the parts of manifest `mf` */
    ES_ACT_ALTER_TABLE, /* the table's definition becomes `table` (its parts are kept) */
    ES_ACT_CREATE_INDEX, /* index: name, id, column, unique */
    ES_ACT_DROP_INDEX,   /* index: name, id */
    ES_ACT_ADD_INDEX     /* index: name, id and one coverage entry (cov[0]) */
} es_action_kind;

/** What an alter_table action changed (its "change" in the log). */
typedef enum es_alter_change {
    ES_CHANGE_ADD_COLUMN = 0,
    ES_CHANGE_DROP_COLUMN,
    ES_CHANGE_RENAME_COLUMN,
    ES_CHANGE_RENAME_TABLE,
    ES_CHANGE_SET_TYPE,
    ES_CHANGE_SET_NOT_NULL,
    ES_CHANGE_DROP_NOT_NULL
} es_alter_change;

typedef struct es_action {
    es_action_kind kind;
    es_tabledef *table; /* create: the new table (no parts); referenced */
    char table_id[ES_ID_LEN + 1];
    char *table_name;            /* drop; else optional, for messages */
    es_part_meta *part;          /* add: referenced */
    char part_id[ES_ID_LEN + 1]; /* remove, set_dv */
    es_dvref *dv;                /* set_dv: referenced */
    int compacted;               /* remove_part: by a compaction (its rows moved, none deleted) */
    int flushed;         /* remove_part: an inline part by a flush (its rows moved; history only) */
    int64_t horizon_ms;  /* vacuum: objects older than this may be deleted */
    int64_t retain_from; /* vacuum: the oldest version kept for time travel */
    es_mfref *mf;        /* manifest: referenced */
    es_alter_change change; /* alter_table: what changed (table: the new definition) */
    es_index_def *index;    /* index actions: referenced */
    int typed; /* add_part of a checkpoint written by manifest.c: the "type" of every column (a
                  manifest is read after later alterations: its parts must say their types) */
    /* set_dv, remove_part, add_index of a table with manifests: a value the part holds (the minimum
     * of column key_col, encoded as in statistics), so that a reader whose manifests are not loaded
     * loads only those whose key range holds it (manifest.c, es_manifest_hint). */
    int has_key;
    int64_t key_col;
    uint8_t key_len;
    uint8_t key[ES_STAT_MAX];
} es_action;

void es_action_reset(es_action *a);

/** A decoded log entry or checkpoint. */
typedef struct es_entry {
    int64_t version;
    int checkpoint; /* 0 commit, 1 checkpoint, ES_ENTRY_MANIFEST a manifest object */
    char txn[ES_ID_LEN + 1];
    int64_t time_ms;
    int64_t n_actions;
    es_action *actions;
    /* Hash chain: "prev", the CRC-32C trailer of entry version - 1 (has_prev 0: absent, as in
     * entries written before the chain existed); crc: this entry's own trailer, set by
     * es_entry_decode and es_entry_encode (has_crc). */
    int has_prev, has_crc;
    uint32_t prev, crc;
} es_entry;

void es_entry_reset(es_entry *e);
#define ES_ENTRY_MANIFEST 2
/** Encode an entry (commit or checkpoint) with its trailing checksum (e->crc receives it). */
es_status es_entry_encode(es_buf *out, es_entry *e, es_error *err);
/** Decode and verify an entry; `name` names the object in messages (ES_CORRUPT). */
es_status es_entry_decode(es_entry *out, const uint8_t *p, size_t n, const char *name,
                          es_error *err);
/** The hint `_log/_last_checkpoint`: encode one naming `version`, or decode one (ES_CORRUPT when
 * malformed or of another format; *version = -1 then). */
#define ES_LOG_HINT_KEY "_log/_last_checkpoint"
es_status es_log_hint_encode(es_buf *b, int64_t version);
es_status es_log_hint_decode(int64_t *version, const uint8_t *p, size_t n, es_error *err);
/** Apply an entry's actions to a snapshot (version becomes e->version). ES_CORRUPT when they
 * do not fit (a part added to a missing table, ...). */
es_status es_snapshot_apply(es_snapshot *s, const es_entry *e, const char *name, es_error *err);

/** Keys: "_log/<20 digits>.json", "_log/<20 digits>.checkpoint", "_log/_last_checkpoint". */
void es_log_key(char *buf, size_t cap, int64_t version, int checkpoint);

/** Create version 0 when the log is empty (idempotent). */
es_status es_log_init(es_objstore *os, es_error *err);
/**
 * Load the snapshot at `version`.
 *
 * version -1 (the latest): the hinted checkpoint, then one LIST of _log/ after it and a GET of
 * each entry listed. A hole (s->damage, above) does not fail the load: the snapshot stops at
 * the last version before it, and ES_CORRUPT is returned only when not even version 0 can be
 * read. Holes below the checkpoint the load starts from are not looked for (time travel
 * reports them). warn (nullable) receives, with code ES_OK, a note about objects that were
 * skipped without harm (a bad hint, a missing or bad checkpoint); msg "" when none.
 *
 * version >= 0 (time travel): the checkpoint at or below it, then GETs of the entries up to
 * it. ES_NOT_FOUND when the version does not exist yet; ES_CORRUPT naming the entry when one
 * is missing below a later entry or checkpoint, or cannot be read.
 *
 * ES_NOT_FOUND also when there is no store (no entry or checkpoint under _log/, and no usable
 * hint).
 */
es_status es_log_load(es_snapshot **out, es_error *warn, es_objstore *os, int64_t version,
                      es_error *err);
/** Bring a snapshot up to the latest version for reading: GETs of the entries after
 * s->version until one is absent (one GET when nothing is new). It cannot tell the end of the
 * log from a hole, so it never sets s->damage for a missing entry, only for an entry that is
 * there but cannot be read or applied; it clears s->damage when it gets past the version. */
es_status es_log_refresh(es_snapshot *s, es_objstore *os, es_error *err);
/** Called by es_log_sync_observe after each entry it applied to s (e: the entry, valid for
 * the call). Non-zero stops the sync: es_log_sync_observe returns that status and err. */
typedef es_status (*es_log_observe_fn)(void *ctx, const es_snapshot *s, const es_entry *e,
                                       es_error *err);
/** es_log_sync, showing each entry it applies to fn (a transaction's commit checks what was
 * committed since it began, entry by entry). */
es_status es_log_sync_observe(es_snapshot *s, es_objstore *os, es_log_observe_fn fn, void *ctx,
                              es_error *err);
/** Bring a snapshot up to the latest version before writing: one LIST of _log/ after
 * s->version (more pages only for a long tail) and GETs of the entries listed, which also
 * proves that no later entry or checkpoint lies beyond a hole. ES_CORRUPT (a copy of
 * s->damage) when one does: s stays at the last version before the hole. Writers call this
 * before es_log_commit; it costs the same number of requests as es_log_refresh. */
es_status es_log_sync(es_snapshot *s, es_objstore *os, es_error *err);
/** What a writer calls before committing, without a LIST when nothing needs one: es_log_refresh
 * (GETs of the entries after s->version until one is absent), then a GET of the hint
 * _last_checkpoint; only when the hint names a version past the end found, or s->damage is
 * set, es_log_sync (its LIST finds a hole, a checkpoint past missing entries or log
 * retention). A hole cut less than a checkpoint interval after s->version while the handle is
 * open is not seen here (docs/FORMAT.md, section 6, step 5). Same returns as es_log_sync. */
es_status es_log_sync_write(es_snapshot *s, es_objstore *os, es_error *err);
/** How long a writer trusts its knowledge of the end of the log (es_snapshot.end_ms): far below
 * the hour vacuum waits before deleting entries below its retention floor (vacuum.c,
 * ES_VACUUM_LOG_MIN_AGE_MS), so that no entry after a version known to be the end within this
 * time can have been deleted by log retention. */
#define ES_LOG_END_TRUST_MS 60000
/** May a writer commit on s without es_log_sync_write (no request): 1 when s is undamaged, not
 * stale after a vacuum (mf_stale), and its last commit (end_ms) is younger than
 * ES_LOG_END_TRUST_MS. Its
 * conditional put of the next version then detects a writer that came between, and only then
 * does es_log_commit read and rebase (docs/ARCHITECTURE.md, "The cost of one commit"). */
int es_log_end_known(const es_snapshot *s);
/** Does the committer of version v (s: the catalog at v) write its checkpoint? */
int es_log_wants_checkpoint(const es_snapshot *s, int64_t v);

/**
 * Commit `actions` as the next version after `s` (which must be current or older: entries
 * found in between are read, applied to s and checked for conflicts). On success s is at the
 * committed version, *version set. ES_CONFLICT when a concurrent commit conflicts (the store
 * is unchanged by this call). Writes a checkpoint after versions that are multiples of
 * ES_CHECKPOINT_INTERVAL (best effort). Bring s to the end of the log with es_log_sync_write first:
 * a conditional create cannot tell the end of the log from a hole, and filling a hole would
 * splice a new version into old history. ES_CORRUPT when s->damage is set, or when the entry
 * to create exists but cannot be read (nothing is committed then).
 */
es_status es_log_commit(es_snapshot *s, es_objstore *os, const es_action *actions, int64_t n,
                        int64_t *version, es_error *err);

/** Called after each entry a commit lost the race to (`theirs`) has been applied to s and the
 * actions passed es_log_check: it checks the actions against s more finely and may rewrite
 * them (a set_dv is merged with the winner's vector). Non-zero: the commit fails with that
 * status. */
typedef es_status (*es_log_rebase_fn)(void *ctx, const es_snapshot *s, const es_entry *theirs,
                                      es_action *actions, int64_t n, es_error *err);
/** es_log_commit with a rebase hook (NULL: none); the hook may modify actions[0..n). */
es_status es_log_commit_rebase(es_snapshot *s, es_objstore *os, es_action *actions, int64_t n,
                               es_log_rebase_fn rebase, void *ctx, int64_t *version, es_error *err);
/** sys_code of an ES_CONFLICT from es_log_commit_rebase when the entry that made the actions
 * conflict removed their part by compaction (no row changed): an autocommit delete or update
 * can run again on the new parts (mutate.c). */
#define ES_LOG_SYS_COMPACTED 1
/** Check that actions fit snapshot s: ES_CONFLICT (or the given status) when not. An action
 * may also act on what an earlier action of the list creates (a part added to a table created
 * before it, a vector set on a part added before it, a name freed by a drop before it). */
es_status es_log_check(const es_snapshot *s, const es_action *actions, int64_t n, es_status code,
                       es_error *err);
/** ES_CONFLICT when `theirs` (an entry committed after the version a writer read) holds a
 * vacuum horizon and the writer's actions name objects it wrote (add_part, a set_dv with a
 * .delta object): vacuum may have deleted them as unreferenced (vacuum.c). */
es_status es_log_check_horizon(const es_entry *theirs, const es_action *mine, int64_t n,
                               es_error *err);
/** Read and verify entry `version` (a checkpoint when `checkpoint`). ES_NOT_FOUND when absent. */
/** es_log_read_entry, reporting an empty (torn) entry in *torn (nullable), as ES_NOT_FOUND. */
es_status es_log_read_entry_torn(es_entry *e, es_objstore *os, int64_t version, int checkpoint,
                                 int *torn, es_error *err);
/** Monotonic milliseconds (es_snapshot.end_ms). */
int64_t es_log_mono_ms(void);
es_status es_log_read_entry(es_entry *out, es_objstore *os, int64_t version, int checkpoint,
                            es_error *err);
/** `_log/_retention` (vacuum.c): the oldest version kept for time travel, in the format of the
 * hint; entries and checkpoints below it may be gone. */
#define ES_LOG_RETENTION_KEY "_log/_retention"
/** Read it: *oldest 0 when absent. ES_CORRUPT when malformed. */
es_status es_log_retention(int64_t *oldest, es_objstore *os, es_error *err);
/** 1 when writes made under a table's definition before alteration `c` stay valid after it
 * (and an alteration `c` stays valid over such writes): adding a column, renaming a column or
 * the table, dropping NOT NULL. Dropping a column, changing its type and SET NOT NULL are not. */
int es_alter_compatible(es_alter_change c);
/** The conflicts of table alterations between actions `mine` and an entry `theirs` committed
 * since mine read the catalog (docs/FORMAT.md, section 7, the conflict matrix): two alterations
 * of one table; a write to a table and an alteration of it that is not compatible, in either
 * order. ES_CONFLICT naming the table. */
es_status es_log_check_alter(const es_entry *theirs, const es_action *mine, int64_t n,
                             es_error *err);
/** Write the checkpoint of snapshot s and the _last_checkpoint hint; nothing when s names
 * manifests a vacuum may have collected (es_snapshot_mf_stale) or when writing the manifests
 * took longer than ES_CHECKPOINT_LATE_MS. */
es_status es_log_checkpoint(es_snapshot *s, es_objstore *os, es_error *err);
/** 1 when a table of s names manifests and a vacuum applied since they were loaded or written
 * retained no version down to them: s must be loaded again before its next checkpoint. */
int es_snapshot_mf_stale(const es_snapshot *s);

/* ------------------------------------------------------- manifests (manifest.c) */

/** Parts per manifest, and manifests per manifest list, written by a checkpoint (at most). */
#define ES_MANIFEST_PARTS 256
/** A table with more manifests than this outside lists gets manifest lists (level 1). */
#define ES_MANIFEST_LIST_LOOSE 16
/** A table with at most this many parts outside manifests keeps them in the checkpoint itself
 * (add_part actions, as before manifests existed); more are packed into manifests. */
#define ES_MANIFEST_LOOSE 32

es_status es_mfref_new(es_mfref **out);
es_mfref *es_mfref_ref(es_mfref *m);
void es_mfref_unref(es_mfref *m);
/** "table_<t>/table_<t>_manifest_<m>.manifest" */
void es_manifest_key(char *buf, size_t cap, const char *table_id, const char *mf_id);
/** Parts of t, listed or not (in manifests not loaded yet). */
int64_t es_tabledef_n_parts(const es_tabledef *t);
/** Decide whether a manifest (or a list) may hold parts a reader wants, from its summary
 * (f->sum: the union of its parts' statistics; f->n_parts, f->live_rows). */
typedef int (*es_manifest_keep_fn)(void *ctx, const es_mfref *f);
/**
 * Load into t (in place: it only lists what t already holds) the manifests not loaded yet for
 * which keep returns non-zero (keep NULL: all of them), fetched at once (get_many) and checked
 * against the checkpoint (size, CRC-32C, parts, rows). requests/bytes (nullable) are
 * incremented by what was fetched. ES_CORRUPT naming the manifest when it does not match;
 * t is unchanged on failure. Not thread safe: call before sharing t between threads.
 */
es_status es_manifest_load(es_tabledef *t, es_objstore *os, es_manifest_keep_fn keep, void *ctx,
                           int64_t *requests, int64_t *bytes, es_error *err);
/** Load every manifest of every table of s (fsck, index builds, es_log_objects). */
es_status es_manifest_load_all(es_snapshot *s, es_objstore *os, es_error *err);
/** *out: the index in t->parts of the part action a (remove_part or set_dv) names (not listed
 * yet), after loading the manifests of t whose key range holds the value a carries (has_key),
 * and when that does not find it, every manifest of t not loaded yet; -1 when no manifest holds
 * it. A failure to load one is returned (ES_CORRUPT naming it, ES_IO, ...). */
es_status es_manifest_find_part(int64_t *out, es_tabledef *t, es_objstore *os, const es_action *a,
                                es_error *err);
/** Give each set_dv, remove_part and add_index of actions[0..n) on a table of s with manifests
 * the value (has_key, key_col, key) that lets a reader find the part's manifest by its key
 * range: the part's minimum of the primary key (else of its first column with one), as s lists
 * the part (add_index: part_id is set to the part it covers). Actions on parts s does not list
 * get none. */
void es_manifest_hint(const es_snapshot *s, es_action *actions, int64_t n);
/** Load in t (in place) the manifests `like` has loaded (the same objects: no request when they
 * were decoded), so that both list the same parts (transactions: base and view). */
es_status es_manifest_load_like(es_tabledef *t, const es_tabledef *like, es_objstore *os,
                                es_error *err);
/** Fetch and decode the manifests (or lists) f[0..n) not decoded yet, in place (f[i]->parts,
 * or ->children for a list), checked against their lines; ES_CORRUPT naming one that is
 * missing or does not match. */
es_status es_manifest_fetch(es_mfref **f, int64_t n, es_objstore *os, es_error *err);
/** Apply a manifest action to table t (exclusively owned): listed as not loaded. */
es_status es_manifest_apply(es_tabledef *t, const es_action *a, const char *name, es_error *err);
/** Replace the parts of a flat checkpoint entry e of snapshot s (es_log_checkpoint) by
 * manifests: a table's manifests that did not change are named again, the parts of changed
 * ones and new parts are written into new manifest objects (put-if-absent) when there are more
 * than ES_MANIFEST_LOOSE of them, and stay in the checkpoint otherwise. */
es_status es_manifest_checkpoint(es_entry *e, const es_snapshot *s, es_objstore *os, es_error *err);
/** Every object version `version` of the store references (for fsck and vacuum): the entry or
 * checkpoint keys it is read from, manifests, each live part's .data, .idx and .delta, and
 * the .six objects of the indexes' coverage.
 * Calls fn(ctx, key, bytes) per object (bytes -1 when the log does not record the size);
 * non-zero from fn stops and is returned. */
typedef es_status (*es_log_object_fn)(void *ctx, const char *key, int64_t bytes);
es_status es_log_objects(es_objstore *os, int64_t version, es_log_object_fn fn, void *ctx,
                         es_error *err);

/** Wall-clock milliseconds, as entries record them (log.c). */
int64_t es_log_now_ms(void);

#endif /* ES_LOG_H */
