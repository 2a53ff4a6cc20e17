/* A guest-side vsock tool for the VMM tests (built static with the host's gcc, added to the test initrd).
 *   vsock-probe echo-server PORT   accept one stream on PORT, echo everything back, print VSOCK-ECHOED=bytes
 *   vsock-probe send PORT COUNT    connect to the host (CID 2) PORT, send COUNT pattern bytes, shut down
 *                                  writing, print the host's reply and VSOCK-REPLY-BYTES=n */
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const char *p, long n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w; n -= w;
    }
    return 0;
}

int main(int argc, char **argv) {
    struct sockaddr_vm addr;
    memset(&addr, 0, sizeof addr);
    addr.svm_family = AF_VSOCK;
    static char buf[65536];
    if (argc == 3 && strcmp(argv[1], "echo-server") == 0) {
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        addr.svm_port = atoi(argv[2]);
        addr.svm_cid = VMADDR_CID_ANY;
        if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 1)) { perror("vsock listen"); return 1; }
        printf("VSOCK-LISTENING\n");
        fflush(stdout);
        int c = accept(s, NULL, NULL);
        if (c < 0) { perror("vsock accept"); return 1; }
        long total = 0;
        ssize_t n;
        while ((n = read(c, buf, sizeof buf)) > 0) {
            total += n;
            if (write_all(c, buf, n)) { perror("vsock echo"); return 1; }
        }
        printf("VSOCK-ECHOED=%ld\n", total);
        close(c);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "send") == 0) {
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        addr.svm_port = atoi(argv[2]);
        addr.svm_cid = VMADDR_CID_HOST;
        if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr)) { perror("vsock connect"); return 1; }
        long count = atol(argv[3]);
        for (long i = 0; i < count;) {
            long k = count - i < 4096 ? count - i : 4096;
            for (long j = 0; j < k; j++) buf[j] = (char)((i + j) * 7);
            if (write_all(s, buf, k)) { perror("vsock send"); return 1; }
            i += k;
        }
        shutdown(s, SHUT_WR);
        long got = 0;
        ssize_t n;
        printf("VSOCK-REPLY=");
        while ((n = read(s, buf, sizeof buf)) > 0) { fwrite(buf, 1, n, stdout); got += n; }
        printf("\nVSOCK-REPLY-BYTES=%ld\n", got);
        return 0;
    }
    fprintf(stderr, "usage: vsock-probe echo-server PORT | send PORT COUNT\n");
    return 2;
}
