namespace Podvisor.Vmm.Machine;

/// <summary>
/// The guest's two clocks at one moment: kvmclock (the kernel's struct kvm_clock_data) and each vCPU's TSC,
/// with its TSC deadline where the guest armed one. Read back to back and set back to back: Linux compares
/// them, and a skew between them (the time between reading one and the other) makes it declare its TSC unstable.
/// </summary>
/// <param name="TscKhz">The TSC rate the values were read at (0: unknown).</param>
public sealed record GuestClocks(byte[] Clock, IReadOnlyList<ulong> Tsc, IReadOnlyList<ulong?> TscDeadline, int TscKhz);
