using Podvisor.Vmm.Devices.Virtio.Rng;
using Podvisor.Vmm.Machine;
using Podvisor.Vmm.Memory;

namespace Podvisor.Vmm.Tests.Virtio;

/// <summary>A device wired to this host's KVM (ioeventfd, irqfd, its I/O thread), driven without a guest.</summary>
public sealed class VirtioDeviceHostTests : IDisposable
{
    private readonly Kvm.Kvm _kvm = Kvm.Kvm.Open();
    private readonly Kvm.Vm _vm;
    private readonly GuestRam _ram = new(1 << 20);
    private readonly VirtioDeviceHost _host;
    private readonly List<Exception> _failures = [];

    public VirtioDeviceHostTests()
    {
        _vm = _kvm.CreateVm();
        _vm.CreateIrqchip();
        _host = new VirtioDeviceHost(_vm, _ram, new VirtioRng(), 0, "virtio-rng", _failures.Add);
        _host.Start();
    }

    public void Dispose()
    {
        _host.Dispose();
        _ram.Dispose();
        _vm.Dispose();
        _kvm.Dispose();
    }

    private static bool Eventually(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    [Fact]
    public void NotificationsAreServedOnTheDevicesOwnThread()
    {
        var driver = new FakeDriver(_ram, 16);
        _host.Transport.Probe(driver);
        ushort head = driver.AddChain((0x10000, 32, true));
        _host.Transport.Notify(0);
        List<(ushort, uint)> used = [];
        Assert.True(Eventually(() => (used = driver.TakeUsed()).Count > 0));
        Assert.Equal([(head, 32u)], used);
        Assert.Empty(_failures);
    }

    [Fact]
    public void APausedDeviceDoesNothingUntilResumed()
    {
        var driver = new FakeDriver(_ram, 16);
        _host.Transport.Probe(driver);
        _host.Pause();
        Assert.True(_host.IsPaused);
        ushort head = driver.AddChain((0x10000, 32, true));
        _host.Transport.Notify(0);
        Assert.False(Eventually(() => driver.UsedIndex != 0, TimeSpan.FromMilliseconds(300)));
        var frozen = _host.Transport.SaveState();       // still: safe to save
        Assert.Equal(0, frozen.Queues[0].NextAvail);

        _host.Resume();
        List<(ushort, uint)> used = [];
        Assert.True(Eventually(() => (used = driver.TakeUsed()).Count > 0));
        Assert.Equal([(head, 32u)], used);
    }

    [Fact]
    public void DisposingAPausedDeviceStopsItsThread()
    {
        _host.Pause();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        _host.Dispose();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
    }
}
