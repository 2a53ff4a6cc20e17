using Podvisor.Kvm;
using Podvisor.Kvm.Abi;
using Podvisor.Vmm.Migration;

namespace Podvisor.Vmm.Tests.Migration;

/// <summary>A vCPU's state captured and restored into a fresh vCPU on this host's KVM.</summary>
public sealed class VcpuStateTests : IDisposable
{
    private readonly Kvm.Kvm _kvm = Kvm.Kvm.Open();
    private readonly Vm _vm;

    public VcpuStateTests()
    {
        _vm = _kvm.CreateVm();
        _vm.CreateIrqchip();
    }

    public void Dispose()
    {
        _vm.Dispose();
        _kvm.Dispose();
    }

    private const uint Star = 0xc0000081, Lstar = 0xc0000082, KernelGsBase = 0xc0000102;

    [Fact]
    public void EveryMsrArrivesWhenOnlyThoseTheFreshVcpuDoesNotHoldAreWritten()
    {
        var source = _vm.CreateVcpu(0);
        var target = _vm.CreateVcpu(1);
        var msrs = source.ReadableMsrs(_kvm.GetMsrIndexList());
        Assert.Contains(Lstar, msrs);
        source.SetMsrs(new KvmMsrEntry(Star, 0x0023_0010_0000_0000), new KvmMsrEntry(Lstar, 0xffff_ffff_8100_0000), new KvmMsrEntry(KernelGsBase, 0xffff_8880_0000_0000));
        var fresh = target.GetMsrs(msrs).ToDictionary(e => e.Index, e => e.Data);

        var state = VcpuState.Capture(source, msrs);
        Assert.Contains(state.Msrs, m => m.Index == Lstar && m.Value != fresh[Lstar]);
        state.Restore(target, fresh);

        var expected = source.GetMsrs(msrs).Where(e => e.Index is not (VcpuState.TscMsr or VcpuState.TscDeadlineMsr));
        var arrived = target.GetMsrs(msrs).ToDictionary(e => e.Index, e => e.Data);
        Assert.All(expected, e => Assert.True(arrived[e.Index] == e.Data, $"MSR 0x{e.Index:x}: source 0x{e.Data:x}, target 0x{arrived[e.Index]:x}"));
    }
}
