/*
 * os: the operating-system layer (like SQLite's os_unix.c behind os.h). This is the only file
 * family that calls POSIX file APIs (open, pread, mmap, fsync, rename, link, flock, mkdir,
 * readdir, ...). Everything above (the local object store backend, tests, benches) goes through
 * these helpers. Sits directly above util.
 *
 * Conventions: every function returns es_status and fills the nullable `err` with a one-line
 * message naming the path and errno (in sys_code). ENOENT and ENOTDIR map to ES_NOT_FOUND,
 * EEXIST to ES_EXISTS, ENOMEM to ES_NOMEM, everything else to ES_IO.
 */
#ifndef ES_OS_H
#define ES_OS_H

#include <stdint.h>

#include "util/util.h"

/** What es_os_stat reports. */
typedef struct es_os_stat_info {
    uint64_t size;
    int64_t mtime_ns;
    uint64_t ino;
    uint64_t dev;
    int is_dir;
    int is_reg;
} es_os_stat_info;

/** stat(2) of path (follows symlinks). ES_NOT_FOUND when absent. */
es_status es_os_stat(es_os_stat_info *out, const char *path, es_error *err);

/** Open a file for reading; *fd is -1 on failure. ES_NOT_FOUND when absent or a directory. */
es_status es_os_open_read(int *fd, const char *path, es_error *err);
/** fstat(2) of an open file. */
es_status es_os_fstat(es_os_stat_info *out, int fd, const char *path, es_error *err);
/** Read exactly n bytes at off (EINTR and short reads handled); ES_IO on early EOF. */
es_status es_os_pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path,
                           es_error *err);
/** Close a file descriptor (accepts -1). */
void es_os_close(int fd);

/**
 * Read [off, off+len) of an open file into a new blob. Small ranges are read with pread into
 * heap memory; ranges of at least `mmap_min` bytes (0: never) are mapped read-only and the
 * blob's destroy unmaps them. The caller checked the range against the file size.
 */
es_status es_os_read_blob(es_blob **out, int fd, uint64_t off, size_t len, size_t mmap_min,
                          const char *path, es_error *err);

/**
 * Create a new uniquely named temporary file in directory `dir` (the name starts with `stem`
 * and carries 16 random hex digits), write all of data, fsync and close it. *tmp_path (owned by
 * the caller, es_free) receives its path.
 */
es_status es_os_write_temp(char **tmp_path, const char *dir, const char *stem, const void *data,
                           size_t len, es_error *err);
/** es_os_write_temp, with the fsync only when `sync` (0: a hint that may be lost). */
es_status es_os_write_temp_sync(char **tmp_path, const char *dir, const char *stem,
                                const void *data, size_t len, int sync, es_error *err);

/**
 * Create file `path` in directory `dir` holding data, only if it does not exist, atomically
 * and without a temporary name: an unnamed file (O_TMPFILE) is written, then linked under its
 * name (linkat, which fails with EEXIST: ES_EXISTS). *st (nullable) receives the file's stat.
 * ES_UNSUPPORTED when the file system has no O_TMPFILE (the caller falls back to a named
 * temporary file and link).
 *
 * Only where es_os_journal_orders_names(dir): the data is written and waited for without a
 * journal commit (sync_file_range), linked, then ONE fsync of the file commits the journal
 * transaction holding its block allocation, its size, its link count and the new directory
 * entry together; the caller does not sync `dir`. Anyone's later journal commit that holds the
 * name also holds the allocation and size, which entered the journal earlier, so a name that
 * survives a crash always holds the whole file. Elsewhere the caller uses a named temporary
 * file (es_os_write_temp: fsynced with its link count of 1, then linked and unlinked, then the
 * directory fsynced): without an ordered journal an unnamed file's inode reaches the device
 * with a link count of 0 until its own fsync after the link, and fsck deletes an inode with
 * no links even when a durable directory entry (another writer's sync wrote the block) names
 * it.
 */
es_status es_os_create_new(const char *dir, const char *path, const void *data, size_t len,
                           es_os_stat_info *st, es_error *err);

/**
 * Whether the file system of `dir` has one journal that commits in order (ext4 with a journal,
 * xfs): an fsync commits every metadata change made before it, the new directory entries and
 * inodes of other files included, so es_os_create_new may use one sync. 0 for any other file
 * system, for ext4 without a journal (its fsync writes the one inode and its directory: an
 * entry linked by another process and not yet synced could keep its name and lose its inode)
 * and whenever the kernel does not say (sysfs unreadable).
 */
int es_os_journal_orders_names(const char *dir);

/**
 * Create file `path` holding data, only if it does not exist, for a file system whose fsync of a
 * new file also writes its directory (ext4, es_os_is_ext4; without a journal through
 * ext4_sync_parent, with one through the journal commit): a named temporary file in `dir`
 * (`stem` + random hex) is written, its bytes sent to the device (sync_file_range, no cache
 * flush), linked under `path` (EEXIST: ES_EXISTS, having spent no sync), unlinked, and ONE fsync
 * of the file makes its data, its inode (link count 1) and the directory durable. *st (nullable)
 * receives the file's stat.
 *
 * Between the link and the end of the fsync, another process's sync of the same directory can
 * make the name durable before the inode: a crash then loses the file (fsck clears the name),
 * which was not acknowledged yet. A writer that builds on such a file must make it durable
 * first (es_os_fsync_file; the log does it for the entry it commits after, log.c), so that no
 * durable file ever depends on a lost one.
 */
es_status es_os_create_linked(const char *dir, const char *stem, const char *path, const void *data,
                              size_t len, es_os_stat_info *st, es_error *err);
/** fsync an existing file by name (ES_NOT_FOUND when absent); nothing when durability is off. */
es_status es_os_fsync_file(const char *path, es_error *err);
/** Whether `dir` is on ext4 (with a journal or without). */
int es_os_is_ext4(const char *dir);

/** Set a file's modification time (nanoseconds since the epoch). */
es_status es_os_set_mtime(const char *path, int64_t mtime_ns, es_error *err);
/** rename(2): atomically replace `to`. */
es_status es_os_rename(const char *from, const char *to, es_error *err);
/** link(2): atomically create `to`; ES_EXISTS when it exists. */
es_status es_os_link(const char *from, const char *to, es_error *err);
/** unlink(2); a missing file is ES_NOT_FOUND. */
es_status es_os_unlink(const char *path, es_error *err);
/** fsync a directory (durability of entries created, renamed or removed in it). */
es_status es_os_fsync_dir(const char *dir, es_error *err);
/** mkdir -p; each directory created is made durable (its parent is fsynced). Existing
 * directories are fine; an existing non-directory is ES_EXISTS. */
es_status es_os_mkdirs(const char *path, es_error *err);
/** rm -rf (for tests and tools): removes path and everything under it; absent is ES_OK. */
es_status es_os_remove_tree(const char *path, es_error *err);
/** Create a fresh directory from a mkdtemp(3) template ending in XXXXXX (modified in place). */
es_status es_os_make_temp_dir(char *templ, es_error *err);

/**
 * An exclusive advisory lock (flock(2)) on the file at `path`, created when absent. The lock is
 * held by a fresh open file description, so it excludes other threads of this process as well as
 * other processes. *fd receives the descriptor to pass to es_os_unlock.
 */
es_status es_os_lock(int *fd, const char *path, es_error *err);
void es_os_unlock(int fd);

/** One directory entry. */
typedef struct es_os_dirent {
    char *name; /**< owned by the list */
    int is_dir;
    int is_reg;
} es_os_dirent;
/** Entries of a directory (without "." and ".."), unsorted. ES_NOT_FOUND when absent. */
es_status es_os_list_dir(es_os_dirent **out, int64_t *n, const char *dir, es_error *err);
void es_os_dirents_free(es_os_dirent *d, int64_t n);

/**
 * Durability switch (process-wide, default on). Off: es_os_write_temp and es_os_fsync_dir skip
 * fsync; renames stay atomic but a power loss may lose recent writes. For tests and benches
 * whose subject is not durability (SQLite's "PRAGMA synchronous=OFF"); never used by the
 * library itself.
 */
void es_os_set_durable(int on);

/** Sleep (EINTR-safe). */
void es_os_sleep_ns(int64_t ns);

/** "a/b" in memory from es_malloc (NULL when out of memory). */
char *es_os_path_join(const char *a, const char *b);

/** One function to resolve from a shared library, and the function pointer variable that
 * receives its address. */
typedef struct es_os_sym {
    const char *name;
    void *slot;
} es_os_sym;

/**
 * Load shared library `lib` with dlopen (never unloaded) and store the address of each of
 * `syms` in its slot. Optional dependencies (libcurl, libcrypto, liblz4, libzstd) are loaded
 * this way on first use, so a program that never needs them does not pay for them in the
 * dynamic loader at start-up. ES_UNSUPPORTED "cannot load <lib>: <dlerror>" on failure. Not
 * synchronised: callers run it once, under pthread_once.
 */
es_status es_os_load_library(const char *lib, const es_os_sym *syms, size_t n, es_error *err);

/** The processors online (at least 1; at most 256): the default thread count of scans. The
 * environment variable ES_THREADS (a number from 1 to 256), when set, replaces it. */
int es_os_cpus(void);

/** The machine's physical memory in bytes (0 when unknown): the default memory limit is a
 * fraction of it. */
int64_t es_os_ram_bytes(void);

#endif /* ES_OS_H */
