using Podvisor.Kvm.Tests.Guests;

namespace Podvisor.Kvm.Tests;

/// <summary>Bad arguments give typed errors that name the call, never a crash.</summary>
[Trait("Category", "Kvm")]
public sealed class BadArgumentTests
{
    [Fact]
    public void OverlappingMemorySlotsAreRefusedWithEexist()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        using var memory = new HostMemory(0x20000);
        vm.SetMemorySlot(new MemorySlot(0, 0x0, memory, 0, 0x10000));

        var e = Assert.Throws<KvmException>(() => vm.SetMemorySlot(new MemorySlot(1, 0x8000, memory, 0x10000, 0x10000)));
        Assert.Equal("KVM_SET_USER_MEMORY_REGION", e.Operation);
        Assert.Equal(Errnos.EEXIST, e.Errno);
        Assert.Contains("EEXIST", e.Message);
        Assert.Single(vm.MemorySlots);
    }

    [Fact]
    public void UnalignedMemorySlotIsRefusedWithEinval()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        using var memory = new HostMemory(0x20000);

        var e = Assert.Throws<KvmException>(() => vm.SetMemorySlot(new MemorySlot(0, 0x800, memory, 0, 0x10000)));
        Assert.Equal(Errnos.EINVAL, e.Errno);
        var size = Assert.Throws<KvmException>(() => vm.SetMemorySlot(new MemorySlot(0, 0, memory, 0, 0x1800)));
        Assert.Equal(Errnos.EINVAL, size.Errno);
        Assert.Empty(vm.MemorySlots);
    }

    [Fact]
    public void SlotReachingPastItsHostMappingIsRefusedBeforeTheKernelSeesIt()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        using var memory = new HostMemory(0x10000);

        Assert.Throws<ArgumentOutOfRangeException>(() => vm.SetMemorySlot(new MemorySlot(0, 0, memory, 0x8000, 0x10000)));
        Assert.Empty(vm.MemorySlots);
    }

    [Fact]
    public void VcpuIdOutOfRangeIsRefused()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        int maxId = Math.Max(kvm.CheckExtension(KvmCapability.MaxVcpuId), kvm.CheckExtension(KvmCapability.MaxVcpus));

        var e = Assert.Throws<KvmException>(() => vm.CreateVcpu((uint)maxId + 1));
        Assert.Equal("KVM_CREATE_VCPU", e.Operation);
        Assert.Equal(Errnos.EINVAL, e.Errno);
    }

    [Fact]
    public void DuplicateVcpuIdIsRefused()
    {
        using var kvm = Kvm.Open();
        using var vm = kvm.CreateVm();
        using var first = vm.CreateVcpu(0);
        var e = Assert.Throws<KvmException>(() => vm.CreateVcpu(0));
        Assert.Equal(Errnos.EEXIST, e.Errno);
    }

    [Fact]
    public void ClosedDescriptorsThrowObjectDisposed()
    {
        using var guest = new TestGuest(GuestMode.Real, a => a.hlt());
        guest.Vcpu.Dispose();
        Assert.Throws<ObjectDisposedException>(() => guest.Vcpu.GetRegs());
        Assert.Throws<ObjectDisposedException>(() => guest.Vcpu.Run());

        var vm = guest.Kvm.CreateVm();
        vm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vm.CreateVcpu(0));
        Assert.Throws<ObjectDisposedException>(() => vm.CreateIrqchip());
    }

    [Fact]
    public void IrqfdOnAClosedEventFdIsRefused()
    {
        using var guest = new TestGuest(GuestMode.Real, a => a.hlt(), irqchip: true);
        var eventFd = new EventFd();
        eventFd.Dispose();
        Assert.Throws<ObjectDisposedException>(() => guest.Vm.AddIrqfd(eventFd, 5));
    }

    [Fact]
    public void MissingDeviceNodeNamesThePath()
    {
        var e = Assert.Throws<KvmException>(() => Kvm.Open("/dev/no-such-kvm"));
        Assert.Equal(Errnos.ENOENT, e.Errno);
        Assert.Contains("/dev/no-such-kvm", e.Message);
    }

    [Fact]
    public void HostMemoryAccessOutsideTheMappingThrows()
    {
        using var memory = new HostMemory(0x1000);
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetSpan(0xFFF, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetSpan(ulong.MaxValue, 1));
        Assert.Throws<ArgumentException>(() => new HostMemory(100));
    }
}
