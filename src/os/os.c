/*
 * os: POSIX file APIs behind small helpers (see os.h). The only file in the library that calls
 * open, pread, mmap, fsync, rename, link, flock, mkdir or readdir.
 */
#include "os/os.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

static _Atomic int durable = 1;

void es_os_set_durable(int on)
{
    atomic_store(&durable, on != 0);
}

static es_status errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return ES_NOT_FOUND;
    case EEXIST:
        return ES_EXISTS;
    case ENOMEM:
        return ES_NOMEM;
    default:
        return ES_IO;
    }
}

static es_status os_fail(es_error *err, const char *what, const char *path)
{
    int e = errno;
    return es_error_set(err, errno_status(e), e, "%s: %s: %s", path, what, strerror(e));
}

static void fill_stat(es_os_stat_info *out, const struct stat *st)
{
    out->size = (uint64_t)st->st_size;
    out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    out->ino = (uint64_t)st->st_ino;
    out->dev = (uint64_t)st->st_dev;
    out->is_dir = S_ISDIR(st->st_mode) != 0;
    out->is_reg = S_ISREG(st->st_mode) != 0;
}

es_status es_os_stat(es_os_stat_info *out, const char *path, es_error *err)
{
    struct stat st;
    memset(out, 0, sizeof *out);
    if (stat(path, &st) != 0)
        return os_fail(err, "stat", path);
    fill_stat(out, &st);
    return ES_OK;
}

es_status es_os_open_read(int *fd, const char *path, es_error *err)
{
    *fd = -1;
    int f;
    do {
        f = open(path, O_RDONLY | O_CLOEXEC);
    } while (f < 0 && errno == EINTR);
    if (f < 0)
        return os_fail(err, "open", path);
    struct stat st;
    if (fstat(f, &st) != 0) {
        es_status rc = os_fail(err, "fstat", path);
        close(f);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        close(f);
        return es_error_set(err, ES_NOT_FOUND, EISDIR, "%s: is a directory", path);
    }
    *fd = f;
    return ES_OK;
}

es_status es_os_fstat(es_os_stat_info *out, int fd, const char *path, es_error *err)
{
    struct stat st;
    memset(out, 0, sizeof *out);
    if (fstat(fd, &st) != 0)
        return os_fail(err, "fstat", path);
    fill_stat(out, &st);
    return ES_OK;
}

es_status es_os_pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path,
                           es_error *err)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return es_error_set(err, ES_IO, e, "%s: read at %llu: %s", path,
                                (unsigned long long)off, strerror(e));
        }
        if (r == 0)
            return es_error_set(err, ES_IO, 0, "%s: unexpected end of file at %llu", path,
                                (unsigned long long)off);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return ES_OK;
}

void es_os_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* A blob over a read-only mapping: ctx is the mapping base, and the mapping length is kept in
 * a small header allocated with the blob. */
typedef struct map_blob {
    es_blob blob;
    void *base;
    size_t map_len;
} map_blob;

static void map_blob_destroy(es_blob *b)
{
    map_blob *m = (map_blob *)b;
    munmap(m->base, m->map_len);
    es_free(m);
}

es_status es_os_read_blob(es_blob **out, int fd, uint64_t off, size_t len, size_t mmap_min,
                          const char *path, es_error *err)
{
    *out = NULL;
    if (mmap_min && len >= mmap_min) {
        long pg = sysconf(_SC_PAGESIZE);
        uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
        uint64_t base_off = off - off % page;
        size_t map_len = (size_t)(off - base_off) + len;
        map_blob *m = es_malloc(sizeof *m);
        if (!m)
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
        void *base = mmap(NULL, map_len, PROT_READ, MAP_SHARED, fd, (off_t)base_off);
        if (base != MAP_FAILED) {
            m->base = base;
            m->map_len = map_len;
            m->blob.data = (const uint8_t *)base + (off - base_off);
            m->blob.size = len;
            m->blob.destroy = map_blob_destroy;
            m->blob.ctx = NULL;
            m->blob.refs = 1;
            *out = &m->blob;
            return ES_OK;
        }
        es_free(m); /* fall back to pread */
    }
    uint8_t *buf = es_malloc(len ? len : 1);
    if (!buf)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory reading %zu bytes", path, len);
    es_status rc = es_os_pread_full(fd, buf, len, off, path, err);
    if (rc == ES_OK)
        rc = es_blob_new_owned(out, buf, len);
    if (rc != ES_OK) {
        es_free(buf);
        if (rc == ES_NOMEM)
            es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
    }
    return rc;
}

char *es_os_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = es_malloc(la + lb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* Create a new temporary file in dir (stem + 16 random hex digits) and write data to it; *fd
 * stays open. On failure nothing is left behind. */
static es_status open_write_temp(char **tmp_path, int *fd_out, const char *dir, const char *stem,
                                 const void *data, size_t len, es_error *err)
{
    *tmp_path = NULL;
    *fd_out = -1;
    char name[96];
    char *path = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
        snprintf(name, sizeof name, "%s%016llx", stem, (unsigned long long)es_random_u64());
        es_free(path);
        path = es_os_path_join(dir, name);
        if (!path)
            return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", dir);
        do {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0 && errno != EEXIST) {
            es_status rc = os_fail(err, "create temporary file", path);
            es_free(path);
            return rc;
        }
    }
    if (fd < 0) {
        es_free(path);
        return es_error_set(err, ES_IO, EEXIST, "%s: cannot create a unique temporary file", dir);
    }
    const uint8_t *p = data;
    size_t n = len;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            es_status rc = os_fail(err, "write", path);
            close(fd);
            unlink(path);
            es_free(path);
            return rc;
        }
        p += w;
        n -= (size_t)w;
    }
    *tmp_path = path;
    *fd_out = fd;
    return ES_OK;
}

es_status es_os_write_temp(char **tmp_path, const char *dir, const char *stem, const void *data,
                           size_t len, es_error *err)
{
    return es_os_write_temp_sync(tmp_path, dir, stem, data, len, 1, err);
}

es_status es_os_write_temp_sync(char **tmp_path, const char *dir, const char *stem,
                                const void *data, size_t len, int sync, es_error *err)
{
    char *path;
    int fd;
    es_status rc = open_write_temp(&path, &fd, dir, stem, data, len, err);
    if (rc != ES_OK)
        return rc;
    if (sync && atomic_load(&durable) && fsync(fd) != 0)
        rc = os_fail(err, "fsync", path);
    if (close(fd) != 0 && rc == ES_OK)
        rc = os_fail(err, "close", path);
    if (rc != ES_OK) {
        unlink(path);
        es_free(path);
        return rc;
    }
    *tmp_path = path;
    return ES_OK;
}

es_status es_os_create_linked(const char *dir, const char *stem, const char *path, const void *data,
                              size_t len, es_os_stat_info *st, es_error *err)
{
    char *tmp;
    int fd;
    es_status rc = open_write_temp(&tmp, &fd, dir, stem, data, len, err);
    if (rc != ES_OK)
        return rc;
    int durable_now = atomic_load(&durable);
    /* The bytes reach the device before the name exists (no cache flush yet). */
    if (durable_now && sync_file_range(fd, 0, 0,
                                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                           SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        rc = os_fail(err, "sync_file_range", tmp);
    if (rc == ES_OK && st)
        rc = es_os_fstat(st, fd, tmp, err);
    if (rc == ES_OK && link(tmp, path) != 0) {
        int e = errno;
        rc = es_error_set(err,
                          e == EEXIST   ? ES_EXISTS
                          : e == ENOENT ? ES_NOT_FOUND
                                        : ES_IO,
                          e, "%s: link: %s", path, strerror(e));
    }
    unlink(tmp); /* before the fsync, so that it also writes the removal */
    /* One fsync: the file is a new entry of its directory, so ext4 without a journal writes its
     * data, its inode and the directory's blocks and inode (ext4_sync_parent), then flushes. */
    if (rc == ES_OK && durable_now && fsync(fd) != 0)
        rc = os_fail(err, "fsync", path);
    if (close(fd) != 0 && rc == ES_OK)
        rc = os_fail(err, "close", path);
    es_free(tmp);
    return rc;
}

es_status es_os_fsync_file(const char *path, es_error *err)
{
    if (!atomic_load(&durable))
        return ES_OK;
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return os_fail(err, "open", path);
    es_status rc = fsync(fd) == 0 ? ES_OK : os_fail(err, "fsync", path);
    close(fd);
    return rc;
}

/* Whether the ext4 file system of `dir` has a journal. ext4 can be made without one (mkfs
 * -O ^has_journal; some virtual machines' root disks are): its fsync then writes the one
 * inode and its directory, and nothing orders the metadata of other files, so the argument
 * in os.h does not hold. The kernel tells through sysfs: /sys/fs/ext4/<device>/journal_task
 * reads "<none>" without a journal (Linux 5.10 on), and a journal has /proc/fs/jbd2/<device>-8.
 * Unknown (no sysfs, an odd device) counts as no journal: the local store then takes the
 * linked put (es_os_create_linked), which is safe with a journal too. */
static int ext4_has_journal(const char *dir)
{
    struct stat st;
    char link[64], target[512], path[600];
    if (stat(dir, &st) != 0)
        return 0;
    snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = 0;
    const char *dev = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    snprintf(path, sizeof path, "/sys/fs/ext4/%s/journal_task", dev);
    FILE *f = fopen(path, "re");
    if (f) {
        char task[32] = "";
        int ok = fgets(task, sizeof task, f) != NULL;
        fclose(f);
        if (ok)
            return strncmp(task, "<none>", 6) != 0;
    }
    snprintf(path, sizeof path, "/proc/fs/jbd2/%s-8", dev);
    return access(path, F_OK) == 0;
}

int es_os_journal_orders_names(const char *dir)
{
    struct statfs sf;
    if (statfs(dir, &sf) != 0)
        return 0;
    /* ext4 with a journal (ext2/3/4 share one magic), xfs (always logged). Not btrfs: its
     * fsync logs the one inode, not every name created before it. */
    if (sf.f_type == 0x58465342)
        return 1;
    return sf.f_type == 0xEF53 && ext4_has_journal(dir);
}

int es_os_is_ext4(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) == 0 && sf.f_type == 0xEF53;
}

es_status es_os_create_new(const char *dir, const char *path, const void *data, size_t len,
                           es_os_stat_info *st, es_error *err)
{
    int fd;
    do {
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
            return es_error_set(err, ES_UNSUPPORTED, errno, "%s: no O_TMPFILE", dir);
        return os_fail(err, "create unnamed file in", dir);
    }
    es_status rc = ES_OK;
    const uint8_t *p = data;
    size_t n = len;
    while (n > 0 && rc == ES_OK) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = os_fail(err, "write", path);
        else {
            p += w;
            n -= (size_t)w;
        }
    }
    /* The data (and the size) first: the name must never show a partial file. One sync: the
     * bytes are written to the device now (their block allocation and size enter the running
     * journal transaction) and the fsync after the link commits them with the name. */
    int durable_now = atomic_load(&durable);
    if (rc == ES_OK && durable_now &&
        sync_file_range(fd, 0, 0,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        rc = os_fail(err, "sync_file_range", path);
    if (rc == ES_OK && st)
        rc = es_os_fstat(st, fd, path, err);
    if (rc == ES_OK) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) {
            int e = errno;
            if (e == ENOENT && access("/proc/self/fd", X_OK) != 0)
                rc = es_error_set(err, ES_UNSUPPORTED, e, "%s: no /proc to link from", path);
            else
                rc = es_error_set(err, e == EEXIST ? ES_EXISTS : ES_IO, e, "%s: link: %s", path,
                                  strerror(e));
        }
    }
    if (rc == ES_OK && durable_now && fsync(fd) != 0)
        rc = os_fail(err, "fsync", path);
    if (close(fd) != 0 && rc == ES_OK)
        rc = os_fail(err, "close", path);
    return rc;
}

es_status es_os_set_mtime(const char *path, int64_t mtime_ns, es_error *err)
{
    struct timespec ts[2];
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = (time_t)(mtime_ns / 1000000000);
    ts[1].tv_nsec = (long)(mtime_ns % 1000000000);
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
        return os_fail(err, "utimensat", path);
    return ES_OK;
}

es_status es_os_rename(const char *from, const char *to, es_error *err)
{
    if (rename(from, to) != 0) {
        int e = errno;
        return es_error_set(err, e == EEXIST ? ES_EXISTS : ES_IO, e, "%s: rename: %s", to,
                            strerror(e));
    }
    return ES_OK;
}

es_status es_os_link(const char *from, const char *to, es_error *err)
{
    if (link(from, to) != 0) {
        int e = errno;
        return es_error_set(err, e == EEXIST ? ES_EXISTS : ES_IO, e, "%s: link: %s", to,
                            strerror(e));
    }
    return ES_OK;
}

es_status es_os_unlink(const char *path, es_error *err)
{
    if (unlink(path) != 0)
        return os_fail(err, "unlink", path);
    return ES_OK;
}

es_status es_os_fsync_dir(const char *dir, es_error *err)
{
    int fd;
    if (!atomic_load(&durable))
        return ES_OK;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return os_fail(err, "open directory", dir);
    es_status rc = ES_OK;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = os_fail(err, "fsync directory", dir);
    close(fd);
    return rc;
}

es_status es_os_mkdirs(const char *path, es_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return ES_OK;
        return es_error_set(err, ES_EXISTS, ENOTDIR, "%s: exists and is not a directory", path);
    }
    char *p = es_strdup(path);
    if (!p)
        return es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    es_status rc = ES_OK;
    /* Walk the components; create each missing one and fsync its parent. */
    for (size_t i = 1; i <= n && rc == ES_OK; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) == 0) {
            char *slash = strrchr(p, '/');
            if (slash && slash != p) {
                *slash = 0;
                rc = es_os_fsync_dir(p, err);
                *slash = '/';
            } else if (!slash) {
                rc = es_os_fsync_dir(".", err);
            }
        } else if (errno != EEXIST) {
            rc = os_fail(err, "mkdir", p);
        } else if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode)) {
            rc = es_error_set(err, ES_EXISTS, ENOTDIR, "%s: exists and is not a directory", p);
        }
        p[i] = c;
    }
    es_free(p);
    return rc;
}

es_status es_os_remove_tree(const char *path, es_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? ES_OK : os_fail(err, "lstat", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return os_fail(err, "unlink", path);
        return ES_OK;
    }
    es_os_dirent *d = NULL;
    int64_t n = 0;
    es_status rc = es_os_list_dir(&d, &n, path, err);
    if (rc == ES_NOT_FOUND)
        return ES_OK;
    for (int64_t i = 0; i < n && rc == ES_OK; i++) {
        char *sub = es_os_path_join(path, d[i].name);
        if (!sub) {
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory", path);
            break;
        }
        rc = es_os_remove_tree(sub, err);
        es_free(sub);
    }
    es_os_dirents_free(d, n);
    if (rc == ES_OK && rmdir(path) != 0 && errno != ENOENT)
        rc = os_fail(err, "rmdir", path);
    return rc;
}

es_status es_os_make_temp_dir(char *templ, es_error *err)
{
    if (!mkdtemp(templ))
        return os_fail(err, "mkdtemp", templ);
    return ES_OK;
}

es_status es_os_lock(int *fd, const char *path, es_error *err)
{
    *fd = -1;
    int f;
    do {
        f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    } while (f < 0 && errno == EINTR);
    if (f < 0)
        return os_fail(err, "open lock file", path);
    while (flock(f, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        es_status rc = os_fail(err, "flock", path);
        close(f);
        return rc;
    }
    *fd = f;
    return ES_OK;
}

void es_os_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

void es_os_dirents_free(es_os_dirent *d, int64_t n)
{
    if (!d)
        return;
    for (int64_t i = 0; i < n; i++)
        es_free(d[i].name);
    es_free(d);
}

es_status es_os_list_dir(es_os_dirent **out, int64_t *n, const char *dir, es_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *dh = opendir(dir);
    if (!dh)
        return os_fail(err, "opendir", dir);
    es_os_dirent *v = NULL;
    int64_t cnt = 0, cap = 0;
    es_status rc = ES_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dh);
        if (!de) {
            if (errno)
                rc = os_fail(err, "readdir", dir);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int is_dir = 0, is_reg = 0;
        if (de->d_type == DT_DIR) {
            is_dir = 1;
        } else if (de->d_type == DT_REG) {
            is_reg = 1;
        } else {
            /* Unknown type (some filesystems) or a symlink: ask stat. */
            struct stat st;
            if (fstatat(dirfd(dh), de->d_name, &st, 0) == 0) {
                is_dir = S_ISDIR(st.st_mode) != 0;
                is_reg = S_ISREG(st.st_mode) != 0;
            }
        }
        if (cnt == cap) {
            int64_t nc = cap ? cap * 2 : 16;
            es_os_dirent *nv = es_realloc(v, (size_t)nc * sizeof *nv);
            if (!nv) {
                rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory listing", dir);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[cnt].name = es_strdup(de->d_name);
        if (!v[cnt].name) {
            rc = es_error_set(err, ES_NOMEM, 0, "%s: out of memory listing", dir);
            break;
        }
        v[cnt].is_dir = is_dir;
        v[cnt].is_reg = is_reg;
        cnt++;
    }
    closedir(dh);
    if (rc != ES_OK) {
        es_os_dirents_free(v, cnt);
        return rc;
    }
    *out = v;
    *n = cnt;
    return ES_OK;
}

int es_os_cpus(void)
{
    const char *env = getenv("ES_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int64_t es_os_ram_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? (int64_t)pages * size : 0;
}

void es_os_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

es_status es_os_load_library(const char *lib, const es_os_sym *syms, size_t n, es_error *err)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return es_error_set(err, ES_UNSUPPORTED, 0, "cannot load %s: %s", lib, dlerror());
    for (size_t i = 0; i < n; i++) {
        void *fn = dlsym(h, syms[i].name);
        if (!fn)
            return es_error_set(err, ES_UNSUPPORTED, 0, "cannot load %s: %s", lib, dlerror());
        memcpy(syms[i].slot, &fn, sizeof fn); /* POSIX: object and function pointers agree */
    }
    return ES_OK;
}
