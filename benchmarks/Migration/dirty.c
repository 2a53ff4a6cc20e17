/* Dirties guest memory at a fixed rate: touches every page of a working set once, then writes one word per page,
 * page after page round the set, RATE MiB of pages each second in 10 ms slices (a guest with a steady write load). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: dirty RATE_MIB_PER_S WORKING_SET_MIB\n"); return 2; }
    long rate = atol(argv[1]), set = atol(argv[2]);
    long pages = set * 256, per_slice = rate * 256 / 100;
    volatile unsigned long *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED) { perror("mmap"); return 1; }
    for (long p = 0; p < pages; p++) mem[p * 512] = p;
    printf("DIRTY-RUNNING %ld MiB/s over %ld MiB\n", rate, set);
    fflush(stdout);
    long next = 0, round = 0;
    double slice = now();
    for (;;) {
        for (long i = 0; i < per_slice; i++, next = (next + 1) % pages) mem[next * 512] = ++round;
        slice += 0.01;
        double wait = slice - now();
        if (wait > 0) { struct timespec t = { 0, (long)(wait * 1e9) }; nanosleep(&t, NULL); }
        else slice = now();           /* behind: no catching up in bursts */
    }
}
