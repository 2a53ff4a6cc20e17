// The reference: the same real-mode guest and KVM_RUN loop written directly in C against linux/kvm.h.
// Usage: baseline EXITS  → prints "ns_per_exit <value>"
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#define CHK(x) do { if ((x) < 0) { perror(#x); exit(1); } } while (0)
static const uint8_t code[] = { 0xB0, 0x42, 0xE6, 0x10, 0xEB, 0xFC }; // mov al,0x42; l: out 0x10,al; jmp l
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
    long exits = argc > 1 ? atol(argv[1]) : 100000;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC); CHK(kvm);
    int vm = ioctl(kvm, KVM_CREATE_VM, 0); CHK(vm);
    size_t memsz = 0x10000;
    uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region reg = { .slot = 0, .guest_phys_addr = 0, .memory_size = memsz, .userspace_addr = (uint64_t)mem };
    CHK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg));
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0); CHK(vcpu);
    int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0); CHK(runsz);
    struct kvm_run *run = mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs s; CHK(ioctl(vcpu, KVM_GET_SREGS, &s));
    s.cs.base = 0; s.cs.selector = 0; CHK(ioctl(vcpu, KVM_SET_SREGS, &s));
    struct kvm_regs r = { .rip = 0x1000, .rflags = 2 }; CHK(ioctl(vcpu, KVM_SET_REGS, &r));
    for (int warm = 0; warm < 1000; warm++) CHK(ioctl(vcpu, KVM_RUN, 0));
    double t0 = now();
    for (long i = 0; i < exits; i++) {
        CHK(ioctl(vcpu, KVM_RUN, 0));
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x10 || *((uint8_t *)run + run->io.data_offset) != 0x42) {
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason); return 1;
        }
    }
    printf("ns_per_exit %.1f\n", (now() - t0) / exits);
    return 0;
}
