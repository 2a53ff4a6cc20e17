/* io-bench: the guest side (and the host side, for TCP) of benchmarks/VirtioThroughput. Static, no deps.
 *   io-bench blk DEV seqread|seqwrite|randread|randwrite BLOCK_BYTES SECONDS THREADS
 *       O_DIRECT I/O on DEV for SECONDS with THREADS workers (queue depth); prints
 *       "IOBENCH blk-<mode>-<block>-qd<threads> MBps=<x> iops=<y>"
 *   io-bench tcp-sink PORT NAME     accept one connection, read to end, print "IOBENCH NAME MBps=<x>"
 *   io-bench tcp-send HOST PORT SECONDS   send for SECONDS (64 KiB writes), then close */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

struct job { const char *dev; int write, random; long block; double seconds; long ops; unsigned seed; };

static void *worker(void *arg) {
    struct job *j = arg;
    int fd = open(j->dev, (j->write ? O_RDWR : O_RDONLY) | O_DIRECT);
    if (fd < 0) { perror("open"); exit(1); }
    unsigned long long size = 0;
    ioctl(fd, BLKGETSIZE64, &size);
    long blocks = size / j->block;
    void *buf;
    if (posix_memalign(&buf, 4096, j->block)) exit(1);
    memset(buf, 0x5a, j->block);
    double end = now() + j->seconds;
    long next = (j->seed * 7919L) % blocks;
    while (now() < end) {
        long at = j->random ? (long)(rand_r(&j->seed) % blocks) : next;
        next = (next + 1) % blocks;
        ssize_t n = j->write ? pwrite(fd, buf, j->block, at * j->block) : pread(fd, buf, j->block, at * j->block);
        if (n != j->block) { perror("io"); exit(1); }
        j->ops++;
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 7 && strcmp(argv[1], "blk") == 0) {
        const char *mode = argv[3];
        int threads = atoi(argv[6]);
        struct job jobs[64];
        pthread_t t[64];
        if (threads < 1 || threads > 64) return 2;
        double start = now();
        for (int i = 0; i < threads; i++) {
            jobs[i] = (struct job){ argv[2], strstr(mode, "write") != NULL, strncmp(mode, "rand", 4) == 0, atol(argv[4]), atof(argv[5]), 0, (unsigned)(i + 1) * 2654435761u };
            pthread_create(&t[i], NULL, worker, &jobs[i]);
        }
        long ops = 0;
        for (int i = 0; i < threads; i++) { pthread_join(t[i], NULL); ops += jobs[i].ops; }
        double elapsed = now() - start;
        printf("IOBENCH blk-%s-%s-qd%d MBps=%.1f iops=%.0f\n", mode, argv[4], threads, ops * (double)atol(argv[4]) / elapsed / 1e6, ops / elapsed);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "tcp-sink") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, (void *)&a, sizeof a) || listen(s, 1)) { perror("listen"); return 1; }
        printf("IOBENCH-LISTENING %s\n", argv[3]);
        fflush(stdout);
        int c = accept(s, NULL, NULL);
        static char buf[1 << 16];
        long total = 0;
        ssize_t n;
        double start = now();
        while ((n = read(c, buf, sizeof buf)) > 0) total += n;
        printf("IOBENCH %s MBps=%.1f\n", argv[3], total / (now() - start) / 1e6);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "tcp-send") == 0) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
        inet_pton(AF_INET, argv[2], &a.sin_addr);
        int s = -1;
        for (int attempt = 0; attempt < 100; attempt++) {
            s = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(s, (void *)&a, sizeof a) == 0) break;
            close(s);
            s = -1;
            usleep(100000);
        }
        if (s < 0) { perror("connect"); return 1; }
        static char buf[1 << 16];
        double end = now() + atof(argv[4]);
        while (now() < end) if (write(s, buf, sizeof buf) <= 0) { perror("send"); return 1; }
        close(s);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of io-bench.c\n");
    return 2;
}
