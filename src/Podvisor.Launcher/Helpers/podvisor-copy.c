/* podvisor-copy: copies disk and kernel files out of images that hold nothing else (no shell, no libc).
 * Run by the init containers of containerDisk and kernelBoot.container images from the folder the launcher
 * pod's first init container filled (podvisor-launcher install-helpers); built static for that reason.
 *
 *   podvisor-copy SRC DST [SRC DST ...]
 *
 * SRC is a file, or a folder holding exactly one regular file (KubeVirt's /disk convention). DST is a file
 * path, or an existing folder: then the copy is DST/disk.img. Holes stay holes (SEEK_DATA/SEEK_HOLE), the
 * copy is written to DST.partial, fsynced and renamed, so a reader never sees half a disk. qcow2 is refused
 * (Podvisor runs raw images). Exit 0 when every pair was copied; otherwise a message on stderr and exit 1. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
    fprintf(stderr, "podvisor-copy: %s %s: %s\n", what, path, errno ? strerror(errno) : "");
    return 1;
}

/* The only regular file in folder DIR, into OUT. */
static int only_file(const char *dir, char *out, size_t size) {
    DIR *d = opendir(dir);
    if (!d) return fail("cannot open folder", dir);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (found++) { closedir(d); errno = 0; return fail("more than one file in", dir); }
            snprintf(out, size, "%s", path);
        }
    }
    closedir(d);
    if (!found) { errno = 0; return fail("no file in", dir); }
    return 0;
}

static int copy_data(int in, int out, off_t size, const char *src) {
    static char buffer[1 << 20];
    off_t at = 0;
    while (at < size) {
        off_t data = lseek(in, at, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break;                    /* only a hole is left */
            data = at;                                    /* no SEEK_DATA here: copy everything */
        }
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0) hole = size;
        for (off_t pos = data; pos < hole;) {
            size_t want = (size_t)(hole - pos) < sizeof buffer ? (size_t)(hole - pos) : sizeof buffer;
            ssize_t n = pread(in, buffer, want, pos);
            if (n < 0) return fail("cannot read", src);
            if (n == 0) break;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = pwrite(out, buffer + done, (size_t)(n - done), pos + done);
                if (w < 0) return fail("cannot write the copy of", src);
                done += w;
            }
            pos += n;
        }
        at = hole;
    }
    return 0;
}

static int copy_one(const char *src, const char *dst_arg) {
    char file[PATH_MAX], dst[PATH_MAX], partial[PATH_MAX + 16];
    struct stat st;
    if (stat(src, &st) != 0) return fail("cannot find", src);
    if (S_ISDIR(st.st_mode)) { if (only_file(src, file, sizeof file)) return 1; }
    else snprintf(file, sizeof file, "%s", src);
    size_t len = strlen(file);
    if (len >= 6 && strcmp(file + len - 6, ".qcow2") == 0) {
        errno = 0;
        return fail("qcow2 images are not supported (use a raw image):", file);
    }
    if (stat(dst_arg, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(dst, sizeof dst, "%s/disk.img", dst_arg);
    else snprintf(dst, sizeof dst, "%s", dst_arg);
    snprintf(partial, sizeof partial, "%s.partial", dst);

    int in = open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0) return fail("cannot open", file);
    if (fstat(in, &st) != 0) { close(in); return fail("cannot stat", file); }
    int out = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) { close(in); return fail("cannot create", partial); }
    int rc = ftruncate(out, st.st_size) != 0 ? fail("cannot size", partial) : copy_data(in, out, st.st_size, file);
    if (rc == 0 && fsync(out) != 0) rc = fail("cannot flush", partial);
    close(in);
    if (close(out) != 0 && rc == 0) rc = fail("cannot close", partial);
    if (rc == 0 && rename(partial, dst) != 0) rc = fail("cannot rename to", dst);
    if (rc != 0) unlink(partial);
    else fprintf(stderr, "podvisor-copy: %s -> %s (%lld bytes)\n", file, dst, (long long)st.st_size);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: podvisor-copy SRC DST [SRC DST ...]\n");
        return 2;
    }
    for (int i = 1; i < argc; i += 2)
        if (copy_one(argv[i], argv[i + 1])) return 1;
    return 0;
}
